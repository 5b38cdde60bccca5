"""yuqing: public-opinion monitoring and response for grassroots government.

This package is the ground every stage stands on and that imports no stage: the
typed contracts between stages, the settings models and loader, the injectable
clock, masking and keys, and the gazetteer of places. The stages live in the
sibling packages (crawler, classifier, store, index, alerts, analysis, reports,
console); the wiring that joins them (App, ingest, the scheduler, the CLI) in
``runtime``.
"""

__version__ = "0.1.0"
