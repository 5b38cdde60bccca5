"""Model admin (admins only): versions and metrics, confusion matrix, promote, roll back,
retrain with staff corrections, and the active-learning queue to label.

Retraining runs in a background thread (one at a time) so the page answers at
once; the new version is registered but not promoted, an admin decides that. It
starts from the active model's own recorded training data (classifier/provenance.py),
checked by hash, plus the corrections: never from other data.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import views
from console.accounts import Principal
from console.deps import csrf_protect, get_yuqing, require
from console.host import Host
from console.pages import error_page, render
from store.models import AuditLog, Post
from yuqing.bilingual import halves  # "中文 / English" errors: the Chinese half
from yuqing.contracts import parse_tier

log = logging.getLogger("yuqing.console")
Yuqing = Annotated[Host, Depends(get_yuqing)]
Admin = Annotated[Principal, Depends(require("admin"))]
pages = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
QUEUE_SIZE = 20


def _registry(yq: Host) -> Any:
    from classifier.registry import Registry

    return Registry(yq.store, yq.config.model_dir, yq.config.taxonomy, yq.now)


def _report(yq: Host, version: str) -> dict[str, Any] | None:
    from classifier.report import REPORT_JSON

    path = yq.config.model_dir / version / REPORT_JSON
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data


def _queue(yq: Host, s: Session) -> tuple[list[dict[str, Any]], str | None]:
    """Posts to label next: those the classifier was least sure of when it graded them
    (stored at ingest, so listing them loads no model)."""
    from classifier.corrections import least_confident

    ids = least_confident(s, limit=QUEUE_SIZE)
    posts = {p.id: p for p in s.scalars(select(Post).where(Post.id.in_(ids)))}
    return [views.post_as_dict(posts[i]) for i in ids if i in posts], None


def _retrain_base(yq: Host, active: str | None) -> dict[str, Any]:
    """What "retrain" would start from, or why it cannot (shown before anyone clicks)."""
    from classifier.provenance import ProvenanceError, check_recorded

    if active is None:
        return {"ok": False, "problem": "尚无启用的模型"}
    try:
        prov = check_recorded(yq.config.model_dir / active)
    except ProvenanceError as exc:
        return {"ok": False, "problem": halves(exc)[0]}
    return {"ok": True, "version": active, "data": prov.describe(), "synthetic": prov.synthetic}


class Retrainer:
    """At most one retraining at a time; its state is what the page shows."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {"state": "idle"}
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self, yq: Host, actor: str) -> bool:
        with self._lock:
            if self.thread is not None and self.thread.is_alive():
                return False
            self.state = {"state": "running", "by": actor, "since": yq.now().isoformat()}
            self.thread = threading.Thread(target=self._run, args=(yq, actor), daemon=True)
            self.thread.start()
            return True

    def _run(self, yq: Host, actor: str) -> None:
        from classifier.bootstrap import active_version
        from classifier.corrections import retrain

        try:
            base = active_version(yq.config.model_dir)
            if base is None:
                raise RuntimeError("尚无启用的模型，无法重新训练")
            with yq.store.session() as s:
                model, report, path = retrain(
                    yq.config.model_dir / base, s, yq.config.taxonomy, yq.config.model_dir,
                    uncertain_below=yq.config.settings.classifier.uncertain_below,
                    clock=yq.now,
                )  # fmt: skip
            _registry(yq).register(
                model, path, note=f"retrained by {actor} from {base} with corrections"
            )
            with yq.store.session() as s:
                s.add(AuditLog(at=yq.now(), actor=actor, action="model.retrain",
                               target_type="model", target_id=model.version,
                               detail={"corrections": report.get("corrections", 0)}))  # fmt: skip
            self.state = {"state": "done", "version": model.version, "by": actor,
                          "corrections": report.get("corrections", 0),
                          "data": report.get("data", {}).get("summary", "")}  # fmt: skip
        except Exception as exc:  # a failed retrain is shown to the admin, never fatal
            log.exception("retraining failed")
            self.state = {"state": "failed", "error": halves(exc)[0][:500], "by": actor}


def _retrainer(request: Request) -> Retrainer:
    r: Retrainer = request.app.state.retrainer
    return r


@pages.get("/admin/models", response_class=HTMLResponse)
def models_page(
    request: Request, yq: Yuqing, who: Admin, version: str = "", done: str = "", error: str = ""
) -> HTMLResponse:
    versions = _registry(yq).versions()
    active = next((v.version for v in versions if v.active), None)
    shown = version if any(v.version == version for v in versions) else active
    with yq.store.session() as s:
        queue, queue_note = _queue(yq, s)
    return render(
        request,
        "models.html",
        {
            "versions": list(reversed(versions)),
            "active": active,
            "shown": shown,
            "report": _report(yq, shown) if shown else None,
            "queue": queue,
            "queue_note": queue_note,
            "retrain": _retrainer(request).state,
            "retrain_base": _retrain_base(yq, active),
            "categories": yq.config.taxonomy.category_names(),
            "done": done[:40],
            "error_msg": error[:300],
        },
    )


def _back(done: str = "", error: str = "") -> RedirectResponse:
    from urllib.parse import urlencode

    qs = urlencode({k: v for k, v in {"done": done, "error": error}.items() if v})
    return RedirectResponse("/admin/models" + (f"?{qs}" if qs else ""), status_code=303)


@pages.post("/admin/models/{version}/promote", response_model=None)
def promote(yq: Yuqing, who: Admin, version: str) -> Response:
    from classifier.registry import RegistryError

    try:
        previous = _registry(yq).promote(version, actor=who.username)
    except RegistryError as exc:
        return _back(error=halves(exc)[0])
    with yq.store.session() as s:
        s.add(AuditLog(at=yq.now(), actor=who.username, action="model.promote",
                       target_type="model", target_id=version,
                       detail={"previous": previous}))  # fmt: skip
    return _back(done=f"已启用 {version}")


@pages.post("/admin/models/rollback", response_model=None)
def rollback(yq: Yuqing, who: Admin) -> Response:
    from classifier.registry import RegistryError

    try:
        old, new = _registry(yq).rollback(actor=who.username)
    except RegistryError as exc:
        return _back(error=halves(exc)[0])
    with yq.store.session() as s:
        s.add(AuditLog(at=yq.now(), actor=who.username, action="model.rollback",
                       target_type="model", target_id=new, detail={"from": old}))  # fmt: skip
    return _back(done=f"已回滚到 {new}")


@pages.post("/admin/models/retrain", response_model=None)
def start_retrain(request: Request, yq: Yuqing, who: Admin) -> Response:
    started = _retrainer(request).start(yq, who.username)
    return _back(done="已开始重新训练" if started else "", error="" if started else "训练正在进行")


@pages.post("/admin/posts/{post_id}/label", response_model=None)
def label_post(
    request: Request,
    yq: Yuqing,
    who: Admin,
    post_id: int,
    category: Annotated[str, Form(max_length=80)] = "",
    tier: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    from classifier.corrections import CorrectionError, record_correction

    try:
        severity = parse_tier(tier) if tier else None
        with yq.store.session() as s:
            record_correction(
                s, post_id, actor=who.username, at=yq.now(), taxonomy=yq.config.taxonomy,
                category=category or None, severity=severity, note="active-learning queue",
            )  # fmt: skip
    except (CorrectionError, ValueError) as exc:
        return error_page(request, 400, str(exc))
    return _back(done=f"已标注帖子 {post_id}")
