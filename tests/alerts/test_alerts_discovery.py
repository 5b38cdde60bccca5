"""Discovery versus publication: what counts as found late (alerts/triage.is_late)."""

from __future__ import annotations

from datetime import timedelta

from alerts_testkit import START

from alerts.triage import is_late
from store.models import Post
from yuqing.settings import AppConfig


def _post(age: timedelta, *, approx: bool = False, found_after: timedelta = timedelta()) -> Post:
    return Post(
        published_at=START - age,
        fetched_at=START + found_after,
        extra={"published_at_approx": True} if approx else {},
    )


def test_late_is_measured_from_publication_to_discovery(config: AppConfig) -> None:
    assert config.alerts.discovery.max_age == timedelta(hours=24)
    assert not is_late(config, _post(timedelta(hours=23)), START)
    assert is_late(config, _post(timedelta(hours=25)), START)
    assert is_late(config, _post(timedelta(days=10)), START)
    # evaluated an hour after it was fetched: the fetch time counts, not the evaluation
    assert not is_late(config, _post(timedelta(hours=23)), START + timedelta(hours=2))
    assert not is_late(config, Post(published_at=None, fetched_at=START, extra={}), START)


def test_a_guessed_time_of_day_is_not_enough_to_call_a_post_late(config: AppConfig) -> None:
    # 昨天上午 found this afternoon: about 28 h by the guess, but the guess may be 12 h off
    assert not is_late(config, _post(timedelta(hours=28), approx=True), START)
    assert is_late(config, _post(timedelta(hours=37), approx=True), START)
