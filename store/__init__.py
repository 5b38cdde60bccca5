"""The system of record: SQLAlchemy 2 models, Alembic migrations, idempotent writes."""

# Each stage keeps its own tables in its own module on the same Base (store/models.py),
# each with its own Alembic migration; importing the package registers them all, so
# the metadata is whole whichever module a caller imports first.
from store import (  # noqa: F401
    alerting_models,  # alerts: outbox, escalations, silences, lock
    classifier_models,  # classifier: registry, corrections
    console_models,  # console: sessions, API tokens, logins
    crawl_models,  # crawler: crawl_runs, sketches, raw text
    scheme_models,  # analysis: monitoring schemes and their hits
)
from store.db import Store, StoreError

__all__ = ["Store", "StoreError"]
