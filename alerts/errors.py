"""What the alert lifecycle and its readers raise; the console maps them to HTTP codes
and the CLI to exit codes."""


class AlertNotFound(LookupError):
    """No alert (or post) with that id, or none the caller may see (HTTP 404)."""


class TransitionError(Exception):
    """The action is not allowed from the alert's current status (HTTP 409)."""


class InvalidInput(ValueError):
    """The action's input is unusable, e.g. an empty reply (HTTP 400)."""
