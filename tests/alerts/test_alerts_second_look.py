"""复核, the duty desk's second look: posts the classifier graded below II whose tier
I-II probability it could not rule out (Classification.review). Through the service's
own jobs, with an injected clock and the real webhook receiver:

- a tier III post marked for review is the team's at once (III, working time) and
  waits in the desk's queue; nobody is paged on the mark;
- a tier IV post marked for review, which no alert rule takes up, is held at the desk
  alone; raised by the desk, it is routed and the team paged at II;
- the desk raises a routed one: II's deadlines from now, the team notified;
- the desk keeps one at III, or dismisses it (a correction);
- unread when the window ends, the machine's verdict stands (held ones go to no one).
"""

from __future__ import annotations

from pathlib import Path

from alerts_testkit import Receiver, SmtpSink
from sqlalchemy import select
from test_alerts_triage_day import Desk, at, kinds

from alerts import triage
from store.classifier_models import ClassifierCorrection
from store.models import Response


def test_second_looks_at_the_duty_desk(
    tmp_path: Path, db_url: str, receiver: Receiver, smtp: SmtpSink
) -> None:
    d = Desk(tmp_path, db_url, receiver, smtp)
    store = d.svc.app.store
    d.post("湖滨社区业主与物业发生冲突", severity=2, review=True, severe_p=0.07)  # raised
    d.post("湖滨社区地基开裂房子下沉", severity=1, review=True, severe_p=0.06)  # held, raised
    d.post("湖滨社区路灯不亮", severity=2, review=True, severe_p=0.05)  # kept at III
    d.post("湖滨社区外墙广告牌松动", severity=2, review=True, severe_p=0.05)  # dismissed
    d.post("湖滨社区小区停车收费", severity=1, review=True, severe_p=0.05)  # held, lapses
    d.post("湖滨社区健身器材损坏", severity=2, review=True, severe_p=0.05)  # lapses at III
    d.post("湖滨社区绿化带杂草", severity=1)  # no mark, no rule: no alert
    d.to(at(20, 9, 1))
    clash, crack, lamp, board, parking, gym = (
        d.alert(t)
        for t in (
            "湖滨社区业主与物业发生冲突",
            "湖滨社区地基开裂房子下沉",
            "湖滨社区路灯不亮",
            "湖滨社区外墙广告牌松动",
            "湖滨社区小区停车收费",
            "湖滨社区健身器材损坏",
        )
    )
    assert kinds(receiver, "/desk") == []  # a second look pages nobody
    routed = [("open", a.id) for a in (clash, lamp, board, gym)]
    assert sorted(kinds(receiver, "/hook")) == sorted(routed)  # the team has its tier III
    assert (clash.status, clash.tier, clash.triage) == ("open", 2, "review")
    assert clash.ack_deadline == at(20, 11, 1)  # III: 2 working hours, as without the mark
    assert clash.triage_deadline == at(20, 11, 1)  # the desk's review window: 2 h
    assert (crack.status, crack.tier, crack.triage, crack.routed_at) == (
        "backlog",
        1,
        "review",
        None,
    )
    assert "复核线" in crack.reason
    with store.session() as s:
        waiting = {a.id for a in triage.queue(s)}
        assert waiting == {clash.id, crack.id, lamp.id, board.id, parking.id, gym.id}
        assert {a.id for a in triage.queue(s, backlog=True)} == {crack.id, parking.id}

    # 09:20 the desk reads them.
    d.to(at(20, 9, 20))
    with store.session() as s:
        triage.retier(s, d.config, clash.id, "desk-wang", d.now, tier=3, note="已发生肢体冲突")
        triage.retier(s, d.config, crack.id, "desk-wang", d.now, tier=3)
        triage.confirm(s, d.config, lamp.id, "desk-wang", d.now)
        triage.dismiss(s, d.config, board.id, "desk-wang", d.now, "已拆除，无危险")
    d.to(at(20, 9, 21))
    clash, crack, lamp, board = (d.alert(a.title) for a in (clash, crack, lamp, board))
    assert (clash.tier, clash.triage, clash.status) == (3, "retiered", "open")
    assert clash.ack_deadline == at(20, 9, 50)  # II: 30 min from the desk's raise
    assert (crack.tier, crack.status, crack.routed_at) == (3, "open", at(20, 9, 20))
    assert ("raise", clash.id) in kinds(receiver, "/hook")
    assert ("open", crack.id) in kinds(receiver, "/hook")
    assert (lamp.tier, lamp.triage, lamp.status) == (2, "reviewed", "open")
    assert (board.status, board.triage) == ("dismissed", "dismissed")
    with store.session() as s:
        (corr,) = s.scalars(select(ClassifierCorrection)).all()
        assert (corr.old_severity, corr.new_severity) == (2, 1)
        assert {a.id for a in triage.queue(s)} == {parking.id, gym.id}
        history = s.scalars(select(Response.action).where(Response.alert_id == clash.id)).all()
        assert "triage.review" in history and "triage.retier" in history

    # 11:01 the window ends for the two nobody read: the machine's verdict stands.
    d.to(at(20, 11))
    assert d.alert("湖滨社区健身器材损坏").triage == "review"
    d.to(at(20, 11, 1))
    parking, gym = d.alert(parking.title), d.alert(gym.title)
    assert (parking.status, parking.triage) == ("dismissed", "review_lapsed")
    assert (gym.status, gym.tier, gym.triage) == ("open", 2, "review_lapsed")
    assert ("open", parking.id) not in kinds(receiver, "/hook")
    with store.session() as s:
        assert triage.queue(s) == []
    # the dismissed board's team notification for tier III was already sent; nothing new
    assert [k for k in kinds(receiver, "/hook") if k[1] == board.id] == [("open", board.id)]
