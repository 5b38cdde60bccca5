"""Reports: the response figures (reports/figures.py), the briefs (舆情简报, daily and weekly,
HTML and PDF; reports/briefs.py) and their charts. Used by the console, the CLI and the
scheduler; this package renders documents and never serves pages."""
