"""Monitoring schemes (监测方案): saved from the CLI, matched as posts arrive through the
scheduler's tick, told to a subscribed e-mail channel (a real SMTP server on
loopback), raising alerts when asked, and bad schemes refused in Chinese."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alerts_testkit import START, SmtpSink, add_post, write_config
from sqlalchemy import select

from analysis import schemes
from runtime.app import App
from runtime.cli import main
from runtime.service import Service
from store.models import Alert
from store.scheme_models import SchemeHit
from yuqing.clock import FrozenClock
from yuqing.settings import load_config


def test_must_any_exclude_and_field() -> None:
    spec = schemes.SchemeSpec("x", must=["垃圾"], any_of=["焚烧", "填埋"], exclude=["招聘"])
    assert schemes.matches(spec, "垃圾焚烧厂选址", "居民反对") == ["垃圾", "焚烧"]
    assert schemes.matches(spec, "垃圾清运", "每天一次") == []  # none of any_of
    assert schemes.matches(spec, "垃圾焚烧厂招聘", "") == []  # excluded
    spec.field = "title"
    assert schemes.matches(spec, "小区问题", "垃圾焚烧") == []  # the words are in the text
    latin = schemes.SchemeSpec("y", must=["PM2.5"])
    assert schemes.matches(latin, "pm2.5 超标", "") == ["PM2.5"]
    assert schemes.words("噪音, 扰民、施工  夜间") == ["噪音", "扰民", "施工", "夜间"]


@pytest.fixture
def deployment(tmp_path: Path, db_url: str, smtp: SmtpSink) -> Iterator[tuple[App, list[str]]]:
    mail = {
        "kind": "smtp",
        "url": f"smtp://127.0.0.1:{smtp.port}",
        "sender": "yuqing@example.org",
        "recipients": ["analyst@example.org"],
    }
    cfg = write_config(tmp_path / "cfg", channels={"mail": mail})
    (cfg / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    env = {"YUQING_DATABASE_URL": db_url, "YUQING_VAR_DIR": str(tmp_path / "var")}
    app = App(load_config(cfg, env), clock=FrozenClock(START))
    yield app, ["--config", str(cfg)]
    app.close()


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_a_scheme_matches_new_posts_and_mails_its_subscribers(
    deployment: tuple[App, list[str]],
    smtp: SmtpSink,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    app, argv = deployment
    monkeypatch.setenv("YUQING_DATABASE_URL", app.config.database_url)
    monkeypatch.setenv("YUQING_VAR_DIR", str(tmp_path / "var"))
    old = add_post(app.store, START - timedelta(days=3), "垃圾焚烧厂选址引发担忧", severity=2)
    add_post(app.store, START - timedelta(days=2), "小区垃圾清运不及时", severity=2)
    code, out, err = run(
        [*argv, "schemes", "add", "垃圾焚烧", "--must", "垃圾", "--any", "焚烧 填埋",
         "--exclude", "招聘", "--channel", "mail", "--alert-tier", "III", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    saved = json.loads(out)
    assert saved["matched"] == 1 and saved["alert_tier"] == "III"  # the history, looked back

    new = add_post(app.store, START, "城东垃圾填埋场渗漏", severity=2, area="湖滨社区")
    add_post(app.store, START, "垃圾焚烧厂招聘操作工", severity=1)  # excluded
    service = Service(app, holder="t")
    assert service.lock.acquire(START)
    service.tick()
    service.job_outbox()
    with app.store.session() as s:
        hits = {h.post_id: h.notified for h in s.scalars(select(SchemeHit))}
        alerts = list(s.scalars(select(Alert).where(Alert.rule == "scheme:垃圾焚烧")))
    assert hits == {old: True, new: True}
    assert [a.tier for a in alerts] == [2] and "填埋" in alerts[0].reason
    mails = [m for m in smtp.messages if "监测方案" in str(m["Subject"])]
    assert len(mails) == 1, [str(m["Subject"]) for m in smtp.messages]
    body = mails[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "城东垃圾填埋场渗漏" in body and "选址" not in body  # history is not news

    service.tick()  # nothing new: nothing sent again
    service.job_outbox()
    assert len([m for m in smtp.messages if "监测方案" in str(m["Subject"])]) == 1

    code, out, _ = run([*argv, "schemes", "show", "垃圾焚烧", "--days", "60", "--json"], capsys)
    shown = json.loads(out)
    assert code == 0 and [p["id"] for p in shown["posts"]] == [new, old]
    assert sum(n for _, n in shown["daily"]) == 2
    code, out, _ = run([*argv, "schemes", "list"], capsys)
    assert code == 0 and "垃圾焚烧" in out
    code, _, _ = run([*argv, "schemes", "remove", "垃圾焚烧"], capsys)
    assert code == 0
    with app.store.session() as s:
        assert s.scalars(select(SchemeHit)).first() is None


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--exclude", "招聘"], "至少填写一个"),
        (["--must", "垃圾", "--area", "火星"], "地名表中没有：火星"),
        (["--must", "垃圾", "--channel", "pager"], "没有通知渠道：pager"),
        (["--must", "垃圾", "--alert-tier", "I"], "III 级或 IV 级"),
        (["--must", "垃圾", "--category", "天气"], "未知类别：天气"),
    ],
)
def test_a_bad_scheme_is_refused_saying_why(
    deployment: tuple[App, list[str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
    problem: str,
) -> None:
    app, argv = deployment
    monkeypatch.setenv("YUQING_DATABASE_URL", app.config.database_url)
    monkeypatch.setenv("YUQING_VAR_DIR", str(tmp_path / "var"))
    code, _, err = run([*argv, "schemes", "add", "坏方案", *args], capsys)
    assert code == 1 and problem in err, err
