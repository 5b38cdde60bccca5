"""The supervisor dashboard: figures worked out by hand, charts, exports, who may see it."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from openpyxl import load_workbook

from reports.figures import efficiency_index
from yuqing.settings import EfficiencyTerm

if TYPE_CHECKING:
    from tests.console.conftest import Console

DAY = {"since": "2026-03-02", "until": "2026-03-02"}  # Monday, local time


def _ids(console: Console) -> dict[str, int]:
    alerts = console.client.get("/api/v1/alerts", params={"status": "all"}).json()["alerts"]
    return {a["team"]: a["id"] for a in alerts}


@pytest.fixture
def worked(console: Console, three_alerts: dict[str, int]) -> dict[str, int]:
    """red acked at 5 min, replied at 2 h, resolved at 3 h; orange acked late at 45 min;
    yellow untouched past its acknowledge deadline; now = 4 h after opening."""
    ids = _ids(console)
    red, orange = ids["donghu-hubin"], ids["chengguan-nanmen"]
    c, clock = console.client, console.clock
    clock.advance(timedelta(minutes=5))
    assert c.post(f"/api/v1/alerts/{red}/acknowledge").status_code == 200
    clock.advance(timedelta(minutes=40))
    assert c.post(f"/api/v1/alerts/{orange}/acknowledge").status_code == 200
    clock.advance(timedelta(minutes=75))
    assert c.post(f"/api/v1/alerts/{red}/reply", json={"text": "已处置"}).status_code == 200
    clock.advance(timedelta(hours=1))
    assert c.post(f"/api/v1/alerts/{red}/resolve").status_code == 200
    clock.advance(timedelta(hours=1))
    return ids


def test_figures_by_team(console: Console, worked: dict[str, int]) -> None:
    r = console.client.get("/api/v1/stats", params={**DAY, "by": "team"})
    assert r.status_code == 200, r.text
    d = r.json()
    t = d["total"]
    assert (t["alerts"], t["acknowledged"], t["responded"], t["resolved"]) == (3, 2, 1, 1)
    assert t["tta_median_min"] == 25.0 and t["tta_p90_min"] == 41.0  # of 5 and 45 minutes
    assert t["ttr_median_min"] == 180.0
    # ack: red on time, orange late, yellow still open past its deadline -> 1/3
    assert t["ack_on_time"] == pytest.approx(1 / 3, abs=1e-4)
    # respond: only red's deadline has been decided (on time); the others still have time
    assert t["respond_on_time"] == 1.0
    assert (t["backlog"], t["overdue"]) == (2, 1)
    expected_e = 0.3 * (1 / 3) / 0.95 + 0.4 * 1.0 + 0.3 * (1 / 3) / 0.8
    assert t["efficiency"] == pytest.approx(expected_e, abs=1e-4)
    groups = {g["key"]: g for g in d["groups"]}
    assert set(groups) == {"donghu-hubin", "chengguan-nanmen", "hexi"}
    assert groups["donghu-hubin"]["label"] == "湖滨社区网格"
    assert groups["donghu-hubin"]["ack_on_time"] == 1.0
    assert groups["chengguan-nanmen"]["ack_on_time"] == 0.0
    assert groups["hexi"]["overdue"] == 1
    assert [a["team"] for a in d["overdue"]] == ["hexi"]
    assert d["overdue"][0]["late_min"] > 0


@pytest.mark.parametrize("by", ["tier", "category", "area", "day", "week"])
def test_other_dimensions(console: Console, worked: dict[str, int], by: str) -> None:
    d = console.client.get("/api/v1/stats", params={**DAY, "by": by}).json()
    assert sum(g["alerts"] for g in d["groups"]) == 3
    if by == "tier":
        assert [g["label"] for g in d["groups"]] == ["I 级 特别重大", "II 级 重大", "III 级 较大"]
    if by in ("day", "week"):
        assert len(d["groups"]) == 1


def test_filters_and_bad_input(console: Console, worked: dict[str, int]) -> None:
    c = console.client
    assert c.get("/api/v1/stats", params={**DAY, "tier": "I"}).json()["total"]["alerts"] == 1
    assert c.get("/api/v1/stats", params={**DAY, "team": "hexi"}).json()["total"]["alerts"] == 1
    assert (
        c.get("/api/v1/stats", params={"since": "2026-03-03", "until": "2026-03-04"}).json()[
            "total"
        ]["alerts"]
        == 0
    )
    assert c.get("/api/v1/stats", params={"by": "planet"}).status_code == 400
    assert c.get("/api/v1/stats", params={"since": "yesterday"}).status_code == 400
    assert c.get("/api/v1/stats", params={"tier": "V"}).status_code == 400
    r = c.get("/dashboard", params={"by": "<script>"}, headers={"Accept": "text/html"})
    assert r.status_code == 400 and "<script>" not in r.text


def test_page_draws_charts(console: Console, worked: dict[str, int]) -> None:
    html = console.browser("sup").get("/dashboard", params=DAY).text
    assert "督办统计" in html
    # three ECharts charts (drawn in the browser), each with its table and CSV beside it
    assert html.count('class="echart"') == 3 and html.count("导出 CSV") == 3
    assert '"type": "bar"' in html and "确认用时中位数" in html
    assert "/static/vendor/echarts/echarts.min.js" in html
    assert "湖滨社区网格" in html and "治理效能指数" in html
    assert "超时清单（1）" in html
    assert "/dashboard/export.xlsx?" in html


def test_exports(console: Console, worked: dict[str, int]) -> None:
    console.add_post(
        '=HYPERLINK("http://evil")湖滨社区', "湖滨社区爆炸", severity=4, area="湖滨社区"
    )
    console.evaluate()
    console.clock.advance(timedelta(hours=1))
    c = console.client
    r = c.get("/dashboard/export.csv", params=DAY)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["分组", "告警数"] and rows[-1][0] == "合计"
    r = c.get("/dashboard/export.xlsx", params=DAY)
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["响应时效", "超时清单"]
    titles = [row[4] for row in wb["超时清单"].iter_rows(min_row=2, values_only=True)]
    assert any(str(t).startswith("'=HYPERLINK") for t in titles)  # kept as text, not a formula
    assert c.get("/dashboard/export.pdf").status_code == 404


def test_only_supervisors_and_admins(console: Console, worked: dict[str, int]) -> None:
    for user in ("hubin", "ana"):
        who = console.as_user(user)
        assert who.get("/api/v1/stats").status_code == 403
        assert who.get("/dashboard/export.csv").status_code == 403
        assert "/dashboard" not in console.browser(user).get("/").text
    assert console.as_user("admin").get("/api/v1/stats").status_code == 200


def test_efficiency_index_caps_and_skips() -> None:
    terms = [
        EfficiencyTerm(activity="ack_on_time", weight=0.5, target=0.5),
        EfficiencyTerm(activity="resolved", weight=0.5, target=1.0),
    ]
    assert efficiency_index({"ack_on_time": 1.0, "resolved": 0.5}, terms) == 0.75  # 1 capped
    assert efficiency_index({"ack_on_time": None, "resolved": 0.5}, terms) == 0.5
    assert efficiency_index({}, terms) is None


def test_efficiency_weights_must_sum_to_one(config_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from yuqing.settings import ConfigError, load_config

    p = config_dir / "settings.yaml"
    p.write_text(
        p.read_text(encoding="utf-8").replace(
            "  port: 8000\n",
            "  port: 8000\n  efficiency:\n    - {activity: resolved, weight: 0.5, target: 0.8}\n",
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as exc:
        load_config(config_dir, {"YUQING_VAR_DIR": str(tmp_path)})
    assert "settings.yaml: console.efficiency: efficiency weights must sum to 1" in str(exc.value)


def test_no_rate_of_nothing(console: Console, three_alerts: dict[str, int]) -> None:
    """One alert acknowledged, no deadline passed: 按时确认 shows its base (1 条), 按时回复
    and E show "—" with the reason, never 100% of nothing or an index of one figure."""
    ids = _ids(console)
    console.clock.advance(timedelta(minutes=5))
    assert (
        console.client.post(f"/api/v1/alerts/{ids['donghu-hubin']}/acknowledge").status_code == 200
    )
    t = console.client.get("/api/v1/stats", params={**DAY, "by": "team"}).json()["total"]
    assert t["ack_on_time"] == 1.0 and t["ack_base"] == 1
    assert t["respond_on_time"] is None and t["respond_base"] == 0
    assert t["why"]["respond_on_time"] == "尚无告警已回复或已过回复时限"
    assert t["efficiency"] is None and "按时回复率" in t["why"]["efficiency"]
    html = console.client.get("/dashboard", params=DAY).text
    assert "（1 条）" in html and "尚无告警已回复或已过回复时限" in html and "尚缺：" in html
