"""Config-driven spiders: one per source kind (board, feed)."""
