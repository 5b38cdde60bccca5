"""DingTalk (钉钉) custom robot with signing ("加签").

The signature is HMAC-SHA256 over ``"{timestamp_ms}\\n{secret}"`` keyed by the
secret, base64-encoded, sent as the ``timestamp`` and ``sign`` query parameters.
It is computed for each send and never written back into the configured URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from alerts.channels import Channel, DeliveryError, Message


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class DingTalkChannel(Channel):
    kind = "dingtalk"

    def request(self, message: Message) -> tuple[dict[str, str], dict[str, Any]]:
        """(query parameters, body): signed for now, never stored in the URL."""
        assert self.options.secret
        ts = int(self.clock.now().timestamp() * 1000)
        params = {"timestamp": str(ts), "sign": dingtalk_sign(self.options.secret, ts)}
        body = {
            "msgtype": "markdown",
            "markdown": {"title": message.subject, "text": message.markdown},
        }
        return params, body

    def preview(self, message: Message) -> dict[str, Any]:
        params, body = self.request(message)
        return {**super().preview(message), "url": self.options.url, "params": params, "json": body}

    def send(self, message: Message) -> None:
        assert self.options.url
        params, body = self.request(message)
        reply = self.post_json(self.options.url, body, params=params)
        if not isinstance(reply, dict) or reply.get("errcode") != 0:
            raise DeliveryError(f"dingtalk refused: {reply!r}")
