"""An alert's statuses, the one vocabulary the engine, the desk, the console, the
briefs and the CLI use, and what each status waits for.

Lifecycle (transitions in alerts/lifecycle.py and alerts/triage.py)::

    triage ─┬─confirm / retier (alerts/triage.py, or fail-open)─► open
    backlog ┘                      └─dismiss / archive─► dismissed
    open ──acknowledge──► acknowledged ──reply──► responded ──resolve──► resolved
      └─────────reply (acknowledges too)────────►     ▲ reply again        │
                                                      acknowledged ◄─reopen┘
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import case

from store.models import Alert


class Status(StrEnum):
    """Stored as its value; compares equal to the plain string."""

    TRIAGE = "triage"  # at the duty desk, deciding (研判)
    BACKLOG = "backlog"  # at the desk: found late, or held for a second look
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESPONDED = "responded"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


STATUSES: tuple[Status, ...] = tuple(Status)
# What the duty desk holds: not yet any team's.
AT_DESK: tuple[Status, ...] = (Status.TRIAGE, Status.BACKLOG)
CLOSED: tuple[Status, ...] = (Status.RESOLVED, Status.DISMISSED)


# A team's work: what the duty desk holds (triage, backlog) is not yet any team's.
ACTIVE_STATUSES: tuple[Status, ...] = (Status.OPEN, Status.ACKNOWLEDGED, Status.RESPONDED)


STATUS_LABELS_ZH: dict[str, str] = {
    Status.TRIAGE: "待研判",
    Status.BACKLOG: "待补看",
    Status.OPEN: "待确认",
    Status.ACKNOWLEDGED: "已确认",
    Status.RESPONDED: "已回复",
    Status.RESOLVED: "已办结",
    Status.DISMISSED: "已排除",
}


ACTION_LABELS_ZH: dict[str, str] = {
    "acknowledge": "确认",
    "reply": "回复",
    "resolve": "办结",
    "reopen": "重新打开",
    "reassign": "转办",
    "correct": "纠正",
    "note": "备注",
    "retier": "改级",
    "raise": "升级",
    "triage.confirm": "研判确认",
    "triage.retier": "研判改级",
    "triage.reassign": "研判改派",
    "triage.dismiss": "研判排除",
    "triage.archive": "补看归档",
    "triage.fail_open": "超时自动派发",
    "triage.review": "送值班复核",
    "triage.keep": "复核维持",
    "triage.review_lapsed": "复核逾时",
}

ACTIONS: tuple[str, ...] = ("acknowledge", "reply", "resolve", "reopen")
# Which statuses each action may start from.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "acknowledge": (Status.OPEN,),
    "reply": (Status.OPEN, Status.ACKNOWLEDGED, Status.RESPONDED),
    "resolve": (Status.ACKNOWLEDGED, Status.RESPONDED),
    "reopen": (Status.RESOLVED,),
}


def allowed_actions(status: str) -> list[str]:
    return [a for a in ACTIONS if status in ALLOWED_FROM[a]]


def pending_deadline(alert: Alert) -> datetime | None:
    """The next deadline someone must meet: the desk's decision while in triage or
    backlog, acknowledge while open, then respond."""
    if alert.status in AT_DESK:
        return alert.triage_deadline
    if alert.status == Status.OPEN:
        return alert.ack_deadline
    if alert.status not in CLOSED:
        return alert.respond_deadline
    return None


def deadline_sql() -> Any:
    """pending_deadline as a SQL expression, for ordering."""
    return case(
        (Alert.status.in_(AT_DESK), Alert.triage_deadline),
        (Alert.status == Status.OPEN, Alert.ack_deadline),
        (Alert.status.in_((Status.ACKNOWLEDGED, Status.RESPONDED)), Alert.respond_deadline),
        else_=None,
    )
