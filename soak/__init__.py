"""`make soak` / `python -m soak`: the demo sources through the whole service at
50x speed with the clock injected; RSS of every process, figures reconciled."""
