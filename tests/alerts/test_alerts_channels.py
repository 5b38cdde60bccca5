"""Every channel against a real local receiver, with the clock pinned so the
DingTalk and Feishu signatures are checked by the receiver itself."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import get_args

import pytest
from alerts_testkit import DING_SECRET, FEISHU_SECRET, START, Receiver, SmtpSink, write_config

from alerts.channels import CHANNELS, DeliveryError, Message, build_channel, channel_class
from alerts.channels.dingtalk import dingtalk_sign
from alerts.channels.feishu import feishu_sign
from yuqing.clock import FrozenClock
from yuqing.settings import CHANNEL_OPTIONS, Channel, ConfigError, load_config

MSG = Message(
    subject="【新告警】[I级 特别重大] 工地坍塌",
    text="【新告警】[I级 特别重大] 工地坍塌\n告警编号：#7",
    markdown="### 【新告警】[I级 特别重大] 工地坍塌\n- **告警编号**：#7",
    html="<h3>【新告警】[I级 特别重大] 工地坍塌</h3>",
    data={"kind": "open", "alert_id": 7, "tier": "I"},
)


def _send(kind: str, clock: FrozenClock, **opts: object) -> None:
    build_channel(kind, Channel(kind=kind, **opts), clock).send(MSG)  # type: ignore[arg-type]


def test_webhook_payload(receiver: Receiver, clock: FrozenClock) -> None:
    _send("webhook", clock, url=receiver.url + "/hook")
    (hit,) = receiver.hits
    assert hit.path == "/hook"
    assert hit.body == {
        "subject": MSG.subject,
        "text": MSG.text,
        "kind": "open",
        "alert_id": 7,
        "tier": "I",
    }


def test_wecom_payload(receiver: Receiver, clock: FrozenClock) -> None:
    _send("wecom", clock, url=receiver.url + "/wecom?key=abc")
    (hit,) = receiver.hits
    assert hit.query == {"key": "abc"}
    assert hit.body == {"msgtype": "markdown", "markdown": {"content": MSG.markdown}}


def test_dingtalk_signed_per_send(receiver: Receiver, clock: FrozenClock) -> None:
    opts = Channel(
        kind="dingtalk", url=receiver.url + "/dingtalk?access_token=tok", secret=DING_SECRET
    )
    ch = build_channel("ding", opts, clock)
    ch.send(MSG)
    clock.advance(timedelta(seconds=90))
    ch.send(MSG)
    assert receiver.rejected == []
    first, second = receiver.hits
    ts = int(START.timestamp() * 1000)
    assert first.query == {
        "access_token": "tok",
        "timestamp": str(ts),
        "sign": dingtalk_sign(DING_SECRET, ts),
    }
    assert second.query["timestamp"] == str(ts + 90_000)
    assert first.body == {
        "msgtype": "markdown",
        "markdown": {"title": MSG.subject, "text": MSG.markdown},
    }
    assert opts.url == receiver.url + "/dingtalk?access_token=tok"  # never rewritten


def test_dingtalk_wrong_secret_is_a_failed_delivery(receiver: Receiver, clock: FrozenClock) -> None:
    with pytest.raises(DeliveryError, match="sign not match"):
        _send("dingtalk", clock, url=receiver.url + "/dingtalk", secret="wrong")
    assert receiver.hits == [] and receiver.rejected == [("/dingtalk", "sign not match")]


def test_feishu_signed_body(receiver: Receiver, clock: FrozenClock) -> None:
    _send("feishu", clock, url=receiver.url + "/feishu", secret=FEISHU_SECRET)
    assert receiver.rejected == []
    (hit,) = receiver.hits
    ts = int(START.timestamp())
    assert hit.body == {
        "timestamp": str(ts),
        "sign": feishu_sign(FEISHU_SECRET, ts),
        "msg_type": "text",
        "content": {"text": MSG.text},
    }
    with pytest.raises(DeliveryError, match="sign match fail"):
        _send("feishu", clock, url=receiver.url + "/feishu", secret="wrong")


def body(msg: object, kind: str) -> str:
    return msg.get_body((kind,)).get_content().replace("\r\n", "\n").strip()  # type: ignore[attr-defined]


def test_smtp_text_and_html(smtp: SmtpSink, clock: FrozenClock) -> None:
    _send(
        "smtp", clock, url=smtp.url, sender="yuqing@county.example", recipients=["duty@example.org"]
    )
    (msg,) = smtp.messages
    assert msg["Subject"] == MSG.subject
    assert msg["From"] == "yuqing@county.example" and msg["To"] == "duty@example.org"
    assert body(msg, "plain") == MSG.text  # SMTP carries CRLF line ends
    assert body(msg, "html") == MSG.html


def test_unreachable_receiver_raises(clock: FrozenClock) -> None:
    with pytest.raises(DeliveryError):
        _send("webhook", clock, url="http://127.0.0.1:9/hook", timeout=2)
    with pytest.raises(DeliveryError):
        _send(
            "smtp", clock, url="smtp://127.0.0.1:9", sender="a@b.c", recipients=["d@e.f"], timeout=2
        )


def test_required_options_checked_when_config_loads(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c", channels={"ding": {"kind": "dingtalk", "url": "http://x"}})
    with pytest.raises(ConfigError) as exc:
        load_config(cfg)
    (p,) = exc.value.problems
    assert (p.file, p.key) == ("alerts.yaml", "channels.ding")
    assert "needs secret" in p.message


def test_every_channel_kind_is_known_to_the_config_and_the_registry() -> None:
    # adding a kind touches three lists: the config's kinds, its options, the registry
    kinds = set(get_args(Channel.model_fields["kind"].annotation))
    assert kinds == set(CHANNEL_OPTIONS) == set(CHANNELS)
    assert all(channel_class(k).kind == k for k in kinds)


def test_a_channel_option_the_kind_ignores_is_refused(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path / "c", channels={"wx": {"kind": "wecom", "url": "http://x", "secret": "s"}}
    )
    with pytest.raises(ConfigError) as exc:
        load_config(cfg)
    assert "takes no secret" in exc.value.problems[0].message


def test_a_team_that_would_notify_nobody_is_a_config_error(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c", default_channels=[], team_channels={"hexi": ["log"]})
    with pytest.raises(ConfigError) as exc:
        load_config(cfg)
    keys = {p.key for p in exc.value.problems}
    assert "teams.0.channels" in keys and all(p.file == "teams.yaml" for p in exc.value.problems)
    assert "default_channels is empty" in exc.value.problems[0].message
