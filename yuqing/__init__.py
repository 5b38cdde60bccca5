"""yuqing: public-opinion monitoring and response for grassroots government.

This package is the application core that joins the stages: typed contracts
between stages, the settings model, the clock, the pipeline wiring and the CLI.
The stages themselves live in the sibling packages crawler, classifier, store,
index, alerts and console.
"""

__version__ = "0.1.0"
