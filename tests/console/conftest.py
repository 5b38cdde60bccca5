"""A console over a real SQLite store in tmp_path, with a frozen clock."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from alerts.engine import evaluate_new_posts
from analysis.linking import Linker
from console import accounts
from console.web import create_app
from runtime.app import App
from store.posts import upsert_post
from yuqing.clock import FrozenClock
from yuqing.contracts import Classification, CrawledPost
from yuqing.settings import AppConfig, Triage, load_config

CONFIG_DIR = Path(__file__).parents[2] / "config"


def without_triage(config: AppConfig) -> AppConfig:
    """Duty-desk triage off: these tests are about a team's own alerts (the desk's
    page has its own tests, with triage on)."""
    off = config.alerts.model_copy(update={"triage": Triage(enabled=False)})
    return dataclasses.replace(config, alerts=off)


START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
PASSWORD = "correct horse battery"
# username -> (role, team): one of each role, two responders at different levels.
USERS: dict[str, tuple[str, str | None]] = {
    "admin": ("admin", None),
    "sup": ("supervisor", None),
    "ana": ("analyst", None),
    "hubin": ("responder", "donghu-hubin"),  # a community grid
    "donghu": ("responder", "donghu"),  # the street above 湖滨 and 东湖新村
    "hexi": ("responder", "hexi"),
}


@dataclass
class Console:
    app: App
    client: TestClient
    clock: FrozenClock

    def add_post(
        self,
        title: str,
        text: str,
        *,
        severity: int,
        area: str | None,
        category: str | None = "环境保护",
        url: str | None = None,
        author: str | None = None,
        review: bool = False,
    ) -> int:
        post = CrawledPost(
            source="demo-board",
            title=title,
            text=text,
            url=url or f"http://demo.yuqing.invalid/t/{abs(hash(title))}",
            author=author,
            published_at=self.clock.now() - timedelta(minutes=5),
            area=area,
        )
        cls = Classification(
            category, 0.9, severity, reasons=[f"test severity {severity}"],
            severe_p=0.07 if review else None, review=review,
        )  # fmt: skip
        with self.app.store.session() as s:
            return upsert_post(s, post, cls, self.clock.now(), linking=Linker).post_id

    def token(self, username: str) -> str:
        with self.app.store.session() as s:
            return accounts.create_token(s, username, self.clock.now(), name="test")

    def as_user(self, username: str) -> TestClient:
        """A client acting as ``username`` through an API token (no CSRF needed)."""
        return TestClient(
            self.client.app, headers={"Authorization": f"Bearer {self.token(username)}"}
        )

    def browser(self, username: str, password: str = PASSWORD) -> TestClient:
        """A client logged in through the login form (session cookie, CSRF applies)."""
        c = TestClient(self.client.app)
        r = c.post("/login", data={"username": username, "password": password})
        assert r.status_code in (200, 303), r.text
        assert "yuqing_session" in c.cookies
        return c

    def anonymous(self) -> TestClient:
        return TestClient(self.client.app)

    def evaluate(self) -> None:
        with self.app.store.session() as s:
            evaluate_new_posts(s, self.app.config, self.app.router, self.clock.now())


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    yield from _console(tmp_path, triage=False)


@pytest.fixture
def desk_console(tmp_path: Path) -> Iterator[Console]:
    """The bundled config as deployed (the duty desk decides tier I-II first), with a
    duty officer ``desk`` (a responder of county-triage)."""
    yield from _console(tmp_path, triage=True)


def _console(tmp_path: Path, *, triage: bool) -> Iterator[Console]:
    config = load_config(CONFIG_DIR, {"YUQING_VAR_DIR": str(tmp_path)})
    if not triage:
        config = without_triage(config)
    users = {**USERS, "desk": ("responder", "county-triage")} if triage else USERS
    clock = FrozenClock(START)
    app = App(config, clock=clock)
    with app.store.session() as s:
        for name, (role, team) in users.items():
            accounts.add_user(s, config, name, PASSWORD, role, START, team_id=team)
    web = create_app(app)
    with TestClient(web) as client:
        # The default client is a supervisor's machine token: sees and may do everything.
        with app.store.session() as s:
            client.headers["Authorization"] = "Bearer " + accounts.create_token(s, "sup", START)
        yield Console(app, client, clock)
    app.close()


@pytest.fixture
def three_alerts(console: Console) -> dict[str, int]:
    """Tier I in 湖滨社区, tier II in 南门社区, tier III in 河西村; returns post ids by name."""
    ids = {
        "red": console.add_post(
            "湖滨社区化工厂爆炸",
            "湖滨社区化工厂发生爆炸，多人受伤，联系人电话13812345678。",
            severity=4,
            area="湖滨社区",
            category="城乡建设",
            author="张三丰",
        ),
        "orange": console.add_post(
            "南门社区污水直排河道",
            "南门社区有工厂夜间直排污水，河道发黑发臭。",
            severity=3,
            area="南门社区",
        ),
        "yellow": console.add_post(
            "河西村养殖场臭味扰民",
            "河西村养殖场臭味很大，影响村民生活。",
            severity=2,
            area="河西村",
        ),
        "quiet": console.add_post(
            "白塔村路灯不亮",
            "白塔村路灯坏了好几天。",
            severity=1,
            area="白塔村",
        ),
    }
    console.evaluate()
    return ids
