"""The model page says what each model was trained on: a synthetic demo model says so,
and retraining refuses, naming the file, when the recorded training data is gone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from classifier.bootstrap import save_version, set_active
from classifier.provenance import SYNTHETIC_ZH, Provenance, file_source
from classifier.training import train
from tests.classifier.synthetic import examples

if TYPE_CHECKING:
    from tests.console.conftest import Console


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_a_synthetic_model_says_so(console: Console) -> None:
    config = console.app.config
    model = train(examples(), config.taxonomy)
    save_version(model, config.model_dir, embed=examples(), synthetic=True)
    set_active(config.model_dir, model.version)
    html = console.browser("admin").get("/admin/models").text
    assert SYNTHETIC_ZH in html and "trained on synthetic demo data" in html
    assert f"重新训练将使用当前模型 {model.version} 的训练数据" in html
    ready = console.client.get("/readyz").json()["checks"]["model"]
    assert ready["detail"] == f"{model.version} (trained on synthetic demo data)"


def test_retraining_refuses_when_the_recorded_file_is_gone(
    console: Console, tmp_path: Path
) -> None:
    config = console.app.config
    data = tmp_path / "labelled.jsonl"
    data.write_text('{"text": "x", "category": "城乡建设"}\n', encoding="utf-8")
    model = train(examples(), config.taxonomy)
    save_version(model, config.model_dir, provenance=Provenance([file_source(data, 1)]))
    set_active(config.model_dir, model.version)
    c = console.browser("admin")
    html = c.get("/admin/models").text
    assert "labelled.jsonl（1 条）" in html and SYNTHETIC_ZH not in html
    data.unlink()
    html = c.get("/admin/models").text
    gone = f"{data}：模型 {model.version} 的训练数据文件已不在"
    assert "无法重新训练" in html and gone in html and "the training data of model" not in html
    r = c.post("/admin/models/retrain", data={"csrf_token": _csrf(html)}, follow_redirects=False)
    assert r.status_code == 303
    retrainer = console.client.app.state.retrainer
    retrainer.thread.join(timeout=120)
    assert retrainer.state["state"] == "failed", retrainer.state
    assert (
        str(data) in retrainer.state["error"] and "训练数据文件已不在" in retrainer.state["error"]
    )
