"""Notification channels: one module per kind, a tiny base class, a name -> class map.

A channel turns a rendered :class:`Message` into one delivery (an HTTP POST, an
e-mail, a log line) and raises :class:`DeliveryError` when it did not get
through; the outbox (alerts/outbox.py) retries with backoff. Channel modules are
imported only when a channel of that kind is used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from yuqing.clock import Clock
    from yuqing.settings import Channel as ChannelConfig

# kind -> "module:Class"; kinds are the ones alerts.yaml accepts.
CHANNELS: dict[str, str] = {
    "log": "alerts.channels.log:LogChannel",
    "webhook": "alerts.channels.webhook:WebhookChannel",
    "wecom": "alerts.channels.wecom:WeComChannel",
    "dingtalk": "alerts.channels.dingtalk:DingTalkChannel",
    "feishu": "alerts.channels.feishu:FeishuChannel",
    "smtp": "alerts.channels.smtp:SmtpChannel",
}


class DeliveryError(Exception):
    """The receiver did not take the message; the outbox will try again."""


@dataclass(frozen=True, slots=True)
class Message:
    """One notification, rendered once when it is queued so every retry sends the same."""

    subject: str
    text: str
    markdown: str
    html: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_payload(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "text": self.text,
            "markdown": self.markdown,
            "html": self.html,
            "data": self.data,
        }

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> Message:
        return cls(p["subject"], p["text"], p["markdown"], p["html"], dict(p.get("data") or {}))


class Channel:
    """Base class: subclasses set ``kind`` and ``send``. The options each kind needs or
    refuses are checked when alerts.yaml loads (``CHANNEL_OPTIONS`` in yuqing.settings)."""

    kind: ClassVar[str] = ""

    def __init__(self, name: str, options: ChannelConfig, clock: Clock) -> None:
        self.name = name
        self.options = options
        self.clock = clock

    def send(self, message: Message) -> None:
        raise NotImplementedError

    def preview(self, message: Message) -> dict[str, Any]:
        """What ``send`` would deliver, for a dry run (signatures as of now)."""
        return {"channel": self.name, "kind": self.kind, "subject": message.subject}

    # shared by the HTTP robots -------------------------------------------------
    def post_json(
        self, url: str, body: dict[str, Any], params: dict[str, str] | None = None
    ) -> Any:
        import httpx

        # Merge, don't replace: a robot URL carries its own token in the query.
        target = httpx.URL(url).copy_merge_params(params) if params else httpx.URL(url)
        try:
            r = httpx.post(target, json=body, timeout=self.options.timeout.total_seconds())
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if r.status_code >= 300:
            raise DeliveryError(f"HTTP {r.status_code}: {r.text[:200]}")
        try:
            return r.json()
        except ValueError:
            return None


def channel_class(kind: str) -> type[Channel]:
    try:
        ref = CHANNELS[kind]
    except KeyError:
        raise ValueError(f"unknown channel kind {kind!r} (known: {', '.join(CHANNELS)})") from None
    module, _, cls = ref.partition(":")
    found: type[Channel] = getattr(importlib.import_module(module), cls)
    return found


def build_channel(name: str, options: ChannelConfig, clock: Clock) -> Channel:
    return channel_class(options.kind)(name, options, clock)
