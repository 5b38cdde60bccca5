"""The log channel: writes the notification to the application log (always works)."""

from __future__ import annotations

import logging

from alerts.channels import Channel, Message

log = logging.getLogger("yuqing.alerts.notify")


class LogChannel(Channel):
    kind = "log"

    def send(self, message: Message) -> None:
        log.warning("[%s] %s\n%s", self.name, message.subject, message.text)
