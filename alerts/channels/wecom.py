"""WeCom (企业微信) group robot: markdown message to the robot's webhook URL."""

from __future__ import annotations

from alerts.channels import Channel, DeliveryError, Message


class WeComChannel(Channel):
    kind = "wecom"
    required_options = ("url",)

    def send(self, message: Message) -> None:
        assert self.options.url
        body = {"msgtype": "markdown", "markdown": {"content": message.markdown}}
        reply = self.post_json(self.options.url, body)
        if not isinstance(reply, dict) or reply.get("errcode") != 0:
            raise DeliveryError(f"wecom refused: {reply!r}")
