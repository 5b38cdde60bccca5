"""Robot signatures against the vendors' own documentation.

Neither DingTalk (自定义机器人安全设置, 加签) nor Feishu (自定义机器人使用指南, 签名校验)
publishes a worked example, a fixed timestamp and secret with the sign they give: both pages
give the algorithm in prose and sample code (Java and Python; Feishu also Go) that reads the
clock. So the references here are the vendors' sample code itself:

- their Python samples, transcribed with the clock pinned;
- their Java samples (``vendor_signatures/*.java``, changed only as each file's header says),
  run by the JDK when ``java`` is on PATH. The vectors below were printed by those samples
  (OpenJDK 17) and agree with ``openssl dgst -sha256 -hmac``, so they hold without a JDK.

The WeCom (企业微信) group robot has no signature: its 群机器人配置说明 documents only the key
in the webhook URL, which is the robot's one secret. A ``secret`` on a wecom channel is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from alerts_testkit import DING_SECRET, START, Receiver

from alerts.channels import Message, build_channel
from alerts.channels.dingtalk import dingtalk_sign
from alerts.channels.feishu import feishu_sign
from yuqing.clock import FrozenClock
from yuqing.settings import Channel

SAMPLES = Path(__file__).parent / "vendor_signatures"

# (timestamp in ms, secret, the sign as DingTalk's Java sample prints it: URL-encoded)
DINGTALK_VECTORS = [
    (1599360473000, "this is secret", "hXZTWifRGHclNuZSKxoXc%2F%2Fsh51SWfVfRIhcdeKs63I%3D"),
    (1599360473001, "this is secret", "FFa7lqbDg9nUpjv2PsmsNQx0pUOYra%2BizTNB%2F0xfMGY%3D"),
]
# (timestamp in s, secret, the sign as Feishu's Java SignDemo prints it)
FEISHU_VECTORS = [
    (1599360473, "demo", "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8="),
    (1599360474, "demo", "hg9EoMKU+UN6qxdKV6nFC9DKP/xhJT2R7Rl8vrIkP7s="),
]


@pytest.mark.parametrize(("ts", "secret", "published"), DINGTALK_VECTORS)
def test_dingtalk_sign_matches_the_vendor_sample(ts: int, secret: str, published: str) -> None:
    # The sample URL-encodes for pasting into the URL; we hand the raw value to httpx.
    assert quote_plus(dingtalk_sign(secret, ts)) == published


@pytest.mark.parametrize(("ts", "secret", "published"), FEISHU_VECTORS)
def test_feishu_sign_matches_the_vendor_sample(ts: int, secret: str, published: str) -> None:
    assert feishu_sign(secret, ts) == published


def test_the_vendors_python_samples_with_the_clock_pinned() -> None:
    # DingTalk's "签名计算代码示例(Python)", time.time() replaced by a fixed timestamp.
    timestamp = "1599360473000"
    secret = "this is secret"
    secret_enc = secret.encode("utf-8")
    string_to_sign = f"{timestamp}\n{secret}"
    string_to_sign_enc = string_to_sign.encode("utf-8")
    hmac_code = hmac.new(secret_enc, string_to_sign_enc, digestmod=hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(hmac_code))
    assert quote_plus(dingtalk_sign(secret, int(timestamp))) == sign
    # Feishu's "签名算法代码示例(Python3)": the key is timestamp + "\n" + secret, the message empty.
    timestamp = "1599360473"
    secret = "demo"
    key_enc = f"{timestamp}\n{secret}".encode()
    hmac_code = hmac.new(key_enc, b"", digestmod=hashlib.sha256).digest()
    sign = base64.b64encode(hmac_code).decode("utf-8")
    assert feishu_sign(secret, int(timestamp)) == sign


def _java(sample: str, *args: str) -> str:
    out = subprocess.run(
        ["java", str(SAMPLES / sample), *args], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@pytest.mark.skipif(shutil.which("java") is None, reason="no JDK: the recorded vectors stand")
def test_the_vendors_java_samples_agree() -> None:
    for ts, secret, published in DINGTALK_VECTORS:
        assert _java("DingTalkSign.java", str(ts), secret) == published
    ts, secret = (
        1_763_604_000_123,
        "SEC0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f",
    )
    assert _java("DingTalkSign.java", str(ts), secret) == quote_plus(dingtalk_sign(secret, ts))
    for ts, secret, published in FEISHU_VECTORS:
        assert _java("FeishuSign.java", str(ts), secret) == published
    assert _java("FeishuSign.java", "1763604000", "qT5x7B2vkLm9") == feishu_sign(
        "qT5x7B2vkLm9", 1_763_604_000
    )


def test_dingtalk_sign_survives_the_url(receiver: Receiver) -> None:
    # At START + 5 ms the sign holds '+' and '/': unless they are percent-encoded in the query
    # (as the vendor's sample does), the receiver reads '+' as a space and refuses the sign.
    clock = FrozenClock(START + timedelta(milliseconds=5))
    ts = int(clock.now().timestamp() * 1000)
    assert {"+", "/"} <= set(dingtalk_sign(DING_SECRET, ts))
    opts = Channel(
        kind="dingtalk", url=receiver.url + "/dingtalk?access_token=t", secret=DING_SECRET
    )
    build_channel("ding", opts, clock).send(
        Message(subject="s", text="t", markdown="m", html="<p>h</p>", data={})
    )
    assert receiver.rejected == []
    (hit,) = receiver.hits
    assert hit.query["sign"] == dingtalk_sign(DING_SECRET, ts)


def test_wecom_takes_no_secret() -> None:
    with pytest.raises(ValueError, match="no signature"):
        Channel(kind="wecom", url="http://127.0.0.1/wecom?key=k", secret="s")
