"""Analysis of the stored posts: events (matters) formed on their text."""
