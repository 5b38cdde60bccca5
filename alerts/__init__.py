"""Alerts: who must act on a matter, by when, and making sure they hear of it.

Modules, in the order a post meets them:

- ``engine``     new posts -> one alert per event that grows (count, latest post,
                 tier raised); silences checked; spike rule per (area, category).
- ``matter``     event-level severity: authors, sources, growth, engagement,
                 recurrence after a reply, a 12345 record joined to a public post.
- ``triage``     研判: machine-only tier I-II alerts wait for the duty desk (confirm,
                 retier, dismiss; fail-open when the window ends); posts found
                 long after publication go to the desk's backlog, not to a pager.
- ``changes``    a new tier or team recomputes deadlines and unsent notifications.
- ``rules``      a registry of rule kinds, one module each: single_post, keyword,
                 growing_event (distinct authors on one event), spike (one category
                 in one area vs its own Poisson baseline).
- ``routing``    area (and the areas containing it) + category -> team; else triage.
- ``worktime``   deadlines: wall-clock for tiers I-II, the team's working time for
                 III-IV (``1d`` = one working day; holidays and make-up days).
- ``escalation`` periodic ``check_deadlines``: a reminder before each deadline,
                 then one level up the team chain per missed step, once per level.
- ``silences``   mute a rule, area or event until a time, with who and why.
- ``aftermath``  after a reply: calmed or flaring; a flare-up reopens.
- ``outbox``     notifications queued in the same transaction, delivered with
                 retries and backoff, in order per alert; quiet hours and batching
                 for tiers III-IV; the tier IV daily digest.
- ``channels``   one module per channel (log, webhook, wecom, dingtalk, feishu, smtp).
- ``lock``       the store lease that lets one scheduler act among several processes.

The scheduler itself lives in ``runtime/service.py``; the CLI in
``runtime/cli/alerts_cmd.py``; the tables in ``store/alerting_models.py``.
"""
