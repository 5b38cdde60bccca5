"""The wiring: the one place that joins the stages.

``App`` builds the store, index, classifier and keys from the settings; ``ingest``
carries a crawled post through every stage; ``jobs`` are what the scheduler and the
CLI run (crawls and their records, draining the index outbox, alert rules);
``service`` runs the scheduler; ``cli`` is the ``yuqing`` command. It stands above
every stage and nothing below imports it (ARCHITECTURE.md, checked by tests/test_layers.py).
"""
