"""Briefs (舆情简报): content, HTML and PDF (real Chinese text in the PDF), CLI, access."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from click.testing import CliRunner
from pypdf import PdfReader

from runtime.cli import cli

if TYPE_CHECKING:
    from tests.console.conftest import Console

DAY = {"date": "2026-03-02"}


def _work(console: Console) -> None:
    alerts = console.client.get("/api/v1/alerts").json()["alerts"]
    red = next(a["id"] for a in alerts if a["tier"] == "I")
    console.clock.advance(timedelta(minutes=10))
    assert console.client.post(f"/api/v1/alerts/{red}/acknowledge").status_code == 200
    console.clock.advance(timedelta(minutes=50))
    assert console.client.post(f"/api/v1/alerts/{red}/resolve").status_code == 200


def test_daily_brief_figures(console: Console, three_alerts: dict[str, int]) -> None:
    _work(console)
    b = console.client.get("/api/v1/reports/daily", params=DAY).json()
    assert b["title"] == "舆情日报"
    assert b["posts"] == 4 and b["alerts"] == 3
    cats = {c["category"]: c["posts"] for c in b["by_category"]}
    assert cats == {"环境保护": 3, "城乡建设": 1}
    assert {a["area"] for a in b["by_area"]} == {"湖滨社区", "南门社区", "河西村", "白塔村"}
    severe = b["severe_alerts"]
    assert [a["tier"] for a in severe] == ["I", "II"]  # tier III is not "severe"
    assert severe[0]["tta_min"] == 10.0 and severe[0]["ttr_min"] == 60.0
    assert severe[0]["ack_on_time"] is True
    assert "13812345678" not in json.dumps(b, ensure_ascii=False)
    assert len(b["top_events"]) == 4
    # the next day is empty; the weekly brief ending then still holds them
    assert (
        console.client.get("/api/v1/reports/daily", params={"date": "2026-03-03"}).json()["posts"]
        == 0
    )
    week = console.client.get("/api/v1/reports/weekly", params={"date": "2026-03-03"}).json()
    assert week["title"] == "舆情周报" and week["posts"] == 4


def test_brief_html_and_pdf(console: Console, three_alerts: dict[str, int]) -> None:
    _work(console)
    c = console.browser("sup")
    page = c.get("/reports", params={"kind": "daily", **DAY})
    assert page.status_code == 200 and "下载 PDF" in page.text
    html = c.get("/reports/daily.html", params=DAY)
    assert html.status_code == 200
    assert "舆情日报" in html.text and "2026年03月02日" in html.text
    assert "湖滨社区化工厂爆炸" in html.text and '<svg class="chart"' in html.text
    assert "13812345678" not in html.text
    pdf = c.get("/reports/daily.pdf", params=DAY)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in ("舆情日报", "重大及以上告警处置情况", "湖滨社区化工厂爆炸", "环境保护"):
        assert expected in text, expected
    assert "13812345678" not in text


def test_hostile_text_in_pdf_is_not_markup(console: Console) -> None:
    console.add_post("<b>粗体</b><font size=99>湖滨社区</font> & <script>", "湖滨社区爆炸事故",
                     severity=4, area="湖滨社区")  # fmt: skip
    console.evaluate()
    pdf = console.client.get("/reports/daily.pdf", params=DAY)
    assert pdf.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "<b>粗体</b>" in text
    html = console.client.get("/reports/daily.html", params=DAY).text
    assert "<script>" not in html and "&lt;b&gt;粗体" in html


def test_brief_bad_input_and_access(console: Console) -> None:
    c = console.client
    assert c.get("/api/v1/reports/monthly").status_code == 400
    assert c.get("/api/v1/reports/daily", params={"date": "03/02"}).status_code == 400
    assert c.get("/reports/daily.docx").status_code == 404
    for user in ("hubin", "ana"):
        assert console.as_user(user).get("/reports/daily.pdf").status_code == 403
    assert console.anonymous().get("/reports/daily.pdf").status_code == 401


def test_report_cli(tmp_path: Path) -> None:
    env = {"YUQING_VAR_DIR": str(tmp_path / "var"),
           "YUQING_CONFIG": str(Path(__file__).parents[2] / "config")}  # fmt: skip
    runner = CliRunner()
    for name in ("brief.pdf", "brief.html", "brief.json"):
        out = tmp_path / name
        r = runner.invoke(cli, ["report", "weekly", "--out", str(out), "--date", "2026-03-02"],
                          env=env)  # fmt: skip
        assert r.exit_code == 0, r.output
        assert "舆情周报" in r.output and out.stat().st_size > 0
    assert (tmp_path / "brief.pdf").read_bytes().startswith(b"%PDF")
    assert "本期无重大及以上告警" in (tmp_path / "brief.html").read_text("utf-8")
    r = runner.invoke(cli, ["report", "daily", "--out", str(tmp_path / "x.doc")], env=env)
    assert r.exit_code == 2
    r = runner.invoke(cli, ["report", "daily", "--out", str(tmp_path / "x.pdf"), "--date", "nope"],
                      env=env)  # fmt: skip
    assert r.exit_code == 2 and "not a date" in r.output


def test_brief_is_mailed_through_the_configured_channel(config_dir: Path, tmp_path: Path) -> None:
    """A real SMTP server (aiosmtpd) on loopback receives the brief as an HTML e-mail."""
    import email
    import socket

    from aiosmtpd.controller import Controller

    received: list[bytes] = []

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            received.append(envelope.content)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    smtp = Controller(Sink(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        alerts_yaml = config_dir / "alerts.yaml"
        alerts_yaml.write_text(
            alerts_yaml.read_text("utf-8").replace(
                "channels:\n",
                f"channels:\n  brief-mail: {{kind: smtp, url: 'smtp://127.0.0.1:{port}', "
                "sender: yuqing@example.org, recipients: [leader@example.org]}\n",
                1,
            ),
            "utf-8",
        )
        settings = config_dir / "settings.yaml"
        settings.write_text(
            settings.read_text("utf-8").replace(
                "  port: 8000\n", "  port: 8000\n  brief_channels: [brief-mail]\n"
            ),
            "utf-8",
        )
        env = {"YUQING_VAR_DIR": str(tmp_path / "var"), "YUQING_CONFIG": str(config_dir)}
        out = tmp_path / "b.html"
        r = CliRunner().invoke(
            cli, ["report", "daily", "--out", str(out), "--date", "2026-03-02", "--send"], env=env
        )
        assert r.exit_code == 0, r.output
        assert "sent via brief-mail" in r.output
    finally:
        smtp.stop()
    assert len(received) == 1
    msg = email.message_from_bytes(received[0])
    assert msg["To"] == "leader@example.org"
    assert "舆情日报" in str(email.header.make_header(email.header.decode_header(msg["Subject"])))
    html = next(p for p in msg.walk() if p.get_content_type() == "text/html")
    assert "舆情日报" in html.get_payload(decode=True).decode("utf-8")


def test_unknown_brief_channel_is_a_config_error(config_dir: Path, tmp_path: Path) -> None:
    from yuqing.settings import ConfigError, load_config

    settings = config_dir / "settings.yaml"
    settings.write_text(
        settings.read_text("utf-8").replace(
            "  port: 8000\n", "  port: 8000\n  brief_channels: [nope]\n"
        ),
        "utf-8",
    )
    try:
        load_config(config_dir, {"YUQING_VAR_DIR": str(tmp_path)})
    except ConfigError as exc:
        assert "settings.yaml: console.brief_channels: unknown channel 'nope'" in str(exc)
    else:
        raise AssertionError("unknown channel accepted")


def test_scheduled_brief_covers_yesterday_and_keeps_files(
    console: Console, three_alerts: dict[str, int]
) -> None:
    from reports.briefs import scheduled_brief

    console.clock.advance(timedelta(days=1))
    out = scheduled_brief(console.app, "daily")
    assert out["day"] == "2026-03-02" and out["delivered"] == []  # no channel configured
    html, pdf = (Path(f) for f in out["files"])
    assert "湖滨社区化工厂爆炸" in html.read_text("utf-8")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert html.parent == console.app.config.var_dir / "briefs"


def test_pdf_brief_embeds_its_font_and_prints_without_system_cjk_fonts(
    console: Console, three_alerts: dict[str, int], tmp_path: Path
) -> None:
    """pdffonts lists every font as embedded, and poppler renders the first page with no
    font on the system at all (an empty fontconfig): the Chinese glyphs are drawn."""
    import os
    import shutil
    import subprocess

    import pytest

    from reports.briefs import find_font

    if find_font() is None or not (shutil.which("pdffonts") and shutil.which("pdftoppm")):
        pytest.skip("needs a CJK TrueType font and poppler-utils (make test installs both)")
    _work(console)
    pdf = tmp_path / "brief.pdf"
    pdf.write_bytes(console.browser("sup").get("/reports/daily.pdf", params=DAY).content)
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    rows = fonts.stdout.splitlines()[2:]
    assert rows, fonts.stdout
    for row in rows:  # name type encoding emb sub uni object ID
        assert row.split()[-5] == "yes", f"not embedded: {row}"
    empty = tmp_path / "fonts.conf"
    empty.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    env = {**os.environ, "FONTCONFIG_FILE": str(empty)}
    subprocess.run(
        ["pdftoppm", "-f", "1", "-l", "1", "-r", "40", "-gray", str(pdf), str(tmp_path / "p")],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    (png,) = tmp_path.glob("p*.pgm") or tmp_path.glob("p*")
    data = png.read_bytes()
    header_end = data.index(b"255\n") + 4  # binary PGM: P5 w h 255\n then one byte a pixel
    dark = sum(1 for v in data[header_end:] if v < 128)
    assert dark > 2000, f"only {dark} dark pixels: the glyphs did not render"
