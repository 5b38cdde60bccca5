"""The classifier stage: text -> category, severity and reasons (see classifier/README.md)."""
