"""A lease in the store so only one scheduler acts when several processes run.

APScheduler's job stores cannot be shared by two running schedulers; the holder
of this row runs the scheduler and renews the lease, a standby keeps trying and
takes over once the lease has expired.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError, OperationalError

from store.alerting_models import SchedulerLock

if TYPE_CHECKING:
    from store.db import Store


def new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class StoreLock:
    def __init__(self, store: Store, name: str, holder: str, ttl: timedelta) -> None:
        self.store = store
        self.name = name
        self.holder = holder
        self.ttl = ttl

    def acquire(self, now: datetime) -> bool:
        """Take or renew the lease; False while another holder's lease is live."""
        try:
            with self.store.session() as s:
                # NOWAIT: a holder frozen inside this short transaction must not block
                # the standby's attempt; busy now simply means "not yours yet".
                row = s.get(SchedulerLock, self.name, with_for_update={"nowait": True})
                if row is None:
                    s.add(
                        SchedulerLock(
                            name=self.name,
                            holder=self.holder,
                            acquired_at=now,
                            expires_at=now + self.ttl,
                        )
                    )
                    s.flush()
                    return True
                if row.holder != self.holder and row.expires_at > now:
                    return False
                if row.holder != self.holder:
                    row.holder, row.acquired_at = self.holder, now
                row.expires_at = now + self.ttl
                return True
        except (IntegrityError, OperationalError):  # lost a race to insert, or db busy
            return False

    def holds(self, now: datetime) -> bool:
        with self.store.session() as s:
            row = s.get(SchedulerLock, self.name)
            return row is not None and row.holder == self.holder and row.expires_at > now

    def release(self) -> None:
        with self.store.session() as s:
            row = s.get(SchedulerLock, self.name, with_for_update=True)
            if row is not None and row.holder == self.holder:
                s.delete(row)
