"""Feishu (飞书) custom bot with signature verification.

The signature is HMAC-SHA256 keyed by ``"{timestamp_s}\\n{secret}"`` over an empty
message, base64-encoded, sent in the body as ``timestamp`` and ``sign``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from alerts.channels import Channel, DeliveryError, Message


def feishu_sign(secret: str, timestamp_s: int) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


class FeishuChannel(Channel):
    kind = "feishu"

    def body(self, message: Message) -> dict[str, Any]:
        assert self.options.secret
        ts = int(self.clock.now().timestamp())
        return {
            "timestamp": str(ts),
            "sign": feishu_sign(self.options.secret, ts),
            "msg_type": "text",
            "content": {"text": message.text},
        }

    def preview(self, message: Message) -> dict[str, Any]:
        return {**super().preview(message), "url": self.options.url, "json": self.body(message)}

    def send(self, message: Message) -> None:
        assert self.options.url
        reply = self.post_json(self.options.url, self.body(message))
        code = reply.get("code", reply.get("StatusCode")) if isinstance(reply, dict) else None
        if code != 0:
            raise DeliveryError(f"feishu refused: {reply!r}")
