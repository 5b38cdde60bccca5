"""What the console needs from the running application, and nothing more.

The console presents; the wiring above it (``runtime.app.App``) builds the store,
the index and the keys and hands itself in as a :class:`Host`. Declaring the
few members the pages use keeps the console from reaching up into the wiring
(and lets a test hand in any object that has them).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from index.base import SearchBackend
    from store.db import Store
    from yuqing.privacy import PrivacyKeys
    from yuqing.settings import AppConfig


class Host(Protocol):
    config: AppConfig

    @property
    def store(self) -> Store: ...

    @property
    def index(self) -> SearchBackend: ...

    @property
    def privacy(self) -> PrivacyKeys: ...

    def now(self) -> datetime: ...

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """(ready, body): the store, its migrations, the index and the model answer."""
        ...

    def metrics(self) -> bytes:
        """The Prometheus text of the store's figures."""
        ...
