"""What a model was trained on: recorded beside it, checked before retraining.

Every saved version gets ``provenance.json`` next to ``meta.json``: each training
file's path, SHA-256 and row count, the field options it was read with, whether it
is synthetic (the demo corpus), and how many staff corrections were added.
Examples that exist only in memory (the demo corpus) are written into the version
directory as ``training-data.jsonl`` first, so every model's data is a file.

Retraining reads exactly those files again and refuses, naming the file, when one
is gone or changed. It never falls back to other data: a model retrained "with
corrections" learns from what its predecessor learnt from, plus the corrections.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from yuqing.contracts import LabelledText

PROVENANCE_FILE = "provenance.json"
EMBEDDED_DATA_FILE = "training-data.jsonl"
SYNTHETIC_ZH = "演示模型（合成数据训练）"
SYNTHETIC_EN = "trained on synthetic demo data"


class ProvenanceError(ValueError):
    """Training data that cannot be found or trusted again (gone, changed, unrecorded)."""


@dataclass(slots=True)
class DataSource:
    """One labelled file a model was trained on."""

    # absolute, or relative to the model's version directory (embedded data)
    path: str
    sha256: str
    rows: int  # examples taken from it
    synthetic: bool = False
    text_field: str = "text"
    label_field: str = "category"
    severity_field: str | None = "severity"
    group_field: str | None = None

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass(slots=True)
class Provenance:
    sources: list[DataSource]
    corrections: int = 0
    labels_from_data: bool = False
    base_version: str | None = None  # the version this one was retrained from
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        return any(s.synthetic for s in self.sources)

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.sources)

    def describe(self, lang: str = "zh") -> str:
        """One line for people: the data, its size, and whether it is synthetic."""
        names = ", ".join(s.name for s in self.sources) or "—"
        if lang == "en":
            text = f"{names} ({self.rows} rows)"
            if self.corrections:
                text += f" + {self.corrections} corrections"
            return f"{SYNTHETIC_EN}: {text}" if self.synthetic else text
        text = f"{names}（{self.rows} 条）"
        if self.corrections:
            text += f" + {self.corrections} 条人工纠正"
        return f"{SYNTHETIC_ZH}：{text}" if self.synthetic else text

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["synthetic"] = self.synthetic
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Provenance:
        sources = [DataSource(**s) for s in raw.get("sources") or []]
        return cls(
            sources=sources,
            corrections=int(raw.get("corrections") or 0),
            labels_from_data=bool(raw.get("labels_from_data")),
            base_version=raw.get("base_version"),
            extra=dict(raw.get("extra") or {}),
        )


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_source(
    path: Path,
    rows: int,
    *,
    synthetic: bool = False,
    text_field: str = "text",
    label_field: str = "category",
    severity_field: str | None = "severity",
    group_field: str | None = None,
) -> DataSource:
    """A labelled file as a source: its absolute path and the hash of its bytes now."""
    path = Path(path).resolve()
    return DataSource(
        path=str(path),
        sha256=file_sha256(path),
        rows=rows,
        synthetic=synthetic,
        text_field=text_field,
        label_field=label_field,
        severity_field=severity_field,
        group_field=group_field,
    )


def embed_examples(
    version_dir: Path, examples: Sequence[LabelledText], *, synthetic: bool
) -> DataSource:
    """Write in-memory examples into the version directory; their source, relative to it."""
    target = Path(version_dir) / EMBEDDED_DATA_FILE
    with target.open("w", encoding="utf-8") as f:
        for e in examples:
            row = {"id": e.id, "text": e.text, "category": e.category, "severity": e.severity}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return DataSource(
        path=EMBEDDED_DATA_FILE,
        sha256=file_sha256(target),
        rows=len(examples),
        synthetic=synthetic,
    )


def write_provenance(version_dir: Path, provenance: Provenance) -> Path:
    target = Path(version_dir) / PROVENANCE_FILE
    tmp = target.with_name(f".{PROVENANCE_FILE}.tmp")
    tmp.write_text(
        json.dumps(provenance.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    os.replace(tmp, target)
    return target


def read_provenance(version_dir: Path) -> Provenance | None:
    """The recorded provenance, or None for a model saved before it was recorded."""
    path = Path(version_dir) / PROVENANCE_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ProvenanceError(f"{path}：无法读取 / {path}: unreadable: {exc}") from None
    try:
        return Provenance.from_dict(raw)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ProvenanceError(
            f"{path}：训练数据记录已损坏 / {path}: not a valid provenance record: {exc}"
        ) from None


def describe_version(version_dir: Path, lang: str = "zh") -> str:
    """What a version was trained on, for any place that shows a model; never raises."""
    try:
        prov = read_provenance(version_dir)
    except ProvenanceError:
        return "训练数据记录损坏" if lang == "zh" else "training-data record unreadable"
    if prov is None:
        return "训练数据未记录" if lang == "zh" else "training data not recorded"
    return prov.describe(lang)


def is_synthetic(version_dir: Path) -> bool | None:
    """True/False as recorded; None when nothing (readable) is recorded."""
    try:
        prov = read_provenance(version_dir)
    except ProvenanceError:
        return None
    return None if prov is None else prov.synthetic


def source_path(source: DataSource, version_dir: Path) -> Path:
    return Path(version_dir) / source.path  # an absolute path stays itself


@dataclass(slots=True)
class RecordedData:
    examples: list[LabelledText]
    groups: list[str] | None
    provenance: Provenance


def check_recorded(version_dir: Path) -> Provenance:
    """The version's provenance after checking that every recorded file is still there
    with the recorded SHA-256. Raises ProvenanceError naming the file otherwise."""
    version_dir = Path(version_dir)
    version = version_dir.name
    prov = read_provenance(version_dir)
    if prov is None or not prov.sources:
        command = "`yuqing classifier train --data FILE --with-corrections`"
        raise ProvenanceError(
            f"模型 {version} 没有记录训练数据（保存于开始记录之前），请用 {command} 训练新模型 / "
            f"model {version} records no training data (saved before training data was "
            f"recorded); train a new model with {command}"
        )
    for src in prov.sources:
        path = source_path(src, version_dir)
        if not path.is_file():
            raise ProvenanceError(
                f"{path}：模型 {version} 的训练数据文件已不在，请恢复该文件，"
                "或用 `yuqing classifier train --data FILE` 换一个文件训练 / "
                f"{path}: the training data of model {version} is gone; restore the file, "
                "or train on another file with `yuqing classifier train --data FILE`"
            )
        digest = file_sha256(path)
        if digest != src.sha256:
            raise ProvenanceError(
                f"{path}：模型 {version} 训练后其训练数据被改动过（sha256 {digest[:12]}…，"
                f"记录为 {src.sha256[:12]}…），请恢复该文件，"
                "或用 `yuqing classifier train --data FILE` 在新文件上训练 / "
                f"{path}: the training data of model {version} has changed since it was "
                f"trained (sha256 {digest[:12]}…, recorded {src.sha256[:12]}…); restore it, "
                "or train on the new file with `yuqing classifier train --data FILE`"
            )
    return prov


def load_recorded(version_dir: Path) -> RecordedData:
    """The examples a version was trained on (without its corrections), read again from
    the recorded files after checking each one's SHA-256. Raises ProvenanceError."""
    from classifier.datafile import DataError, labelled, read_rows

    version_dir = Path(version_dir)
    prov = check_recorded(version_dir)
    examples: list[LabelledText] = []
    groups: list[str] = []
    grouped = False
    for src in prov.sources:
        path = source_path(src, version_dir)
        try:
            lset = labelled(
                read_rows(path),
                text_field=src.text_field,
                label_field=src.label_field,
                severity_field=src.severity_field,
                group_field=src.group_field,
            )
        except DataError as exc:
            raise ProvenanceError(str(exc)) from None
        examples += lset.examples
        if lset.groups is not None:
            grouped = True
            groups += [f"{src.name}:{g}" for g in lset.groups]
        else:
            groups += [f"{src.name}:{i}" for i in range(len(lset.examples))]
    return RecordedData(examples, groups if grouped else None, prov)
