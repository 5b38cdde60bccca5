"""Alerts: rules, tiers, routing to teams, deadlines and (later) escalation and channels."""
