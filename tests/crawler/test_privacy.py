"""Authors pseudonymised with HMAC-SHA256; the unmasked text kept only encrypted."""

from __future__ import annotations

import dataclasses
import shutil
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select, text

from crawler.items import RawPost, to_crawled_post
from runtime.app import App
from runtime.ingest import Ingestor
from store.crawl_models import PostRaw
from store.models import Post
from store.raw import read_raw
from yuqing.clock import FrozenClock
from yuqing.contracts import CrawledPost
from yuqing.privacy import load_keys
from yuqing.settings import load_config

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
PHONE = "13812345678"


def test_pseudonyms_are_stable_keyed_and_opaque(tmp_path: Path) -> None:
    keys = load_keys("a" * 32, None, tmp_path)
    same = keys.pseudonym("张 三")
    assert same == keys.pseudonym("张   三") and same is not None
    assert same.startswith("居民#") and "张" not in same[3:]
    assert keys.pseudonym("李四") != same
    assert load_keys("b" * 32, None, tmp_path).pseudonym("张 三") != same  # the secret matters
    assert keys.pseudonym(same) == same  # idempotent on a stored pseudonym
    assert keys.pseudonym("  ") is None and keys.pseudonym(None) is None


def test_keys_are_generated_once_into_var(tmp_path: Path) -> None:
    first = load_keys(None, None, tmp_path)
    again = load_keys(None, None, tmp_path)
    assert first == again
    for name in ("author_secret", "raw_text.key"):
        mode = (tmp_path / "secrets" / name).stat().st_mode
        assert stat.S_IMODE(mode) == 0o600
    with pytest.raises(ValueError):
        load_keys(None, "not a fernet key", tmp_path)


@pytest.fixture
def app(tmp_path: Path, db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    directory = tmp_path / "config"
    shutil.copytree(REPO / "config", directory)
    var = tmp_path_factory.getbasetemp() / "privacy-var"  # one trained model for the module
    config = load_config(directory, {"YUQING_VAR_DIR": str(var), "YUQING_DATABASE_URL": db_url})
    running = App(config, clock=FrozenClock(NOW))
    running.model(demo=True)  # ingesting classifies: the demo model, trained once
    yield running
    running.close()


def test_store_keeps_masked_text_pseudonym_and_encrypted_raw(app: App) -> None:
    raw = RawPost(
        source="demo-board",
        url="http://127.0.0.1:1/board/thread/7.html",
        title="湖滨小区漏水",
        body=f"楼上漏水三天，联系我{PHONE}。",
        author=f"王五{PHONE}",
    )
    post = to_crawled_post(raw, NOW, "Asia/Shanghai")
    assert isinstance(post, CrawledPost)
    assert PHONE not in post.text and post.raw is not None and PHONE in post.raw.value["text"]
    assert PHONE not in repr(post)
    sink = Ingestor(app)
    assert sink.accept(dataclasses.replace(post, extra=dict(post.extra)))
    with app.store.session() as s:
        stored = s.scalars(select(Post)).one()
        assert PHONE not in stored.text
        assert stored.author == app.privacy.pseudonym(f"王五{PHONE}")
        assert stored.author is not None and "王五" not in stored.author
        # nothing in any column of the row holds the number in clear
        row = s.execute(text("SELECT * FROM posts")).one()
        assert all(PHONE not in str(v) for v in row)
        cipher = s.get(PostRaw, stored.id)
        assert cipher is not None and PHONE not in cipher.ciphertext
        clear = read_raw(s, stored.id, app.privacy)
        assert clear is not None
        assert clear["text"] == f"楼上漏水三天，联系我{PHONE}。"
        assert clear["author"] == f"王五{PHONE}"
        # another deployment's key cannot read it
        other = dataclasses.replace(app.privacy, raw_text_key=Fernet.generate_key())
        with pytest.raises(InvalidToken):
            read_raw(s, stored.id, other)
    sink.close()
