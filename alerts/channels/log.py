"""The log channel: writes the notification to the application log (always works)."""

from __future__ import annotations

import logging
from typing import Any

from alerts.channels import Channel, Message

log = logging.getLogger("yuqing.alerts.notify")


class LogChannel(Channel):
    kind = "log"

    def preview(self, message: Message) -> dict[str, Any]:
        return {**super().preview(message), "text": message.text}

    def send(self, message: Message) -> None:
        log.warning("[%s] %s\n%s", self.name, message.subject, message.text)
