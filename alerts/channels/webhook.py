"""A generic JSON webhook: POSTs the message and its structured data."""

from __future__ import annotations

from typing import Any

from alerts.channels import Channel, Message


class WebhookChannel(Channel):
    kind = "webhook"

    def body(self, message: Message) -> dict[str, Any]:
        return {"subject": message.subject, "text": message.text, **message.data}

    def send(self, message: Message) -> None:
        assert self.options.url
        self.post_json(self.options.url, self.body(message))

    def preview(self, message: Message) -> dict[str, Any]:
        return {**super().preview(message), "url": self.options.url, "json": self.body(message)}
