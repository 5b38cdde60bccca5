"""SMTP e-mail (stdlib smtplib): a text part and an HTML alternative."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import urlsplit

from alerts.channels import Channel, DeliveryError, Message


class SmtpChannel(Channel):
    kind = "smtp"

    def build(self, message: Message) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = message.subject
        msg["From"] = self.options.sender
        msg["To"] = ", ".join(self.options.recipients)
        msg["Date"] = format_datetime(self.clock.now())
        msg["Message-ID"] = make_msgid(domain="yuqing.invalid")
        msg.set_content(message.text)
        msg.add_alternative(message.html, subtype="html")
        return msg

    def preview(self, message: Message) -> dict[str, Any]:
        return {
            **super().preview(message),
            "url": self.options.url,
            "from": self.options.sender,
            "to": list(self.options.recipients),
            "text": message.text,
            "html": message.html,
        }

    def send(self, message: Message) -> None:
        assert self.options.url
        u = urlsplit(self.options.url)
        if u.scheme not in ("smtp", "smtps") or not u.hostname:
            raise DeliveryError(
                f"smtp url must look like smtp://host:port, got {self.options.url!r}"
            )
        timeout = self.options.timeout.total_seconds()
        cls = smtplib.SMTP_SSL if u.scheme == "smtps" else smtplib.SMTP
        try:
            with cls(
                u.hostname, u.port or (465 if u.scheme == "smtps" else 25), timeout=timeout
            ) as s:
                if self.options.starttls:
                    s.starttls()
                if u.username:
                    s.login(u.username, u.password or "")
                s.send_message(self.build(message))
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
