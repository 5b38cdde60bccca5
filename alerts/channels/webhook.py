"""A generic JSON webhook: POSTs the message and its structured data."""

from __future__ import annotations

from alerts.channels import Channel, Message


class WebhookChannel(Channel):
    kind = "webhook"
    required_options = ("url",)

    def send(self, message: Message) -> None:
        assert self.options.url
        self.post_json(
            self.options.url,
            {"subject": message.subject, "text": message.text, **message.data},
        )
