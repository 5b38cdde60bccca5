"""The system of record: SQLAlchemy 2 models, Alembic migrations, idempotent writes."""

from store.db import Store, StoreError

__all__ = ["Store", "StoreError"]
