"""WeCom (企业微信) group robot: markdown message to the robot's webhook URL.

Unlike the DingTalk and Feishu robots it has no signature: the key in the webhook URL
(``.../cgi-bin/webhook/send?key=...``) is its only secret, so keep that URL out of logs
and shared files."""

from __future__ import annotations

from typing import Any

from alerts.channels import Channel, DeliveryError, Message


class WeComChannel(Channel):
    kind = "wecom"

    def body(self, message: Message) -> dict[str, Any]:
        return {"msgtype": "markdown", "markdown": {"content": message.markdown}}

    def preview(self, message: Message) -> dict[str, Any]:
        return {**super().preview(message), "url": self.options.url, "json": self.body(message)}

    def send(self, message: Message) -> None:
        assert self.options.url
        reply = self.post_json(self.options.url, self.body(message))
        if not isinstance(reply, dict) or reply.get("errcode") != 0:
            raise DeliveryError(f"wecom refused: {reply!r}")
