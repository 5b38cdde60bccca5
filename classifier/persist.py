"""Saving and loading a trained model: skops files, ``meta.json``, SHA-256 checksums,
and the checks that refuse a model this process cannot serve as it was trained
(another segmenter, user dictionary or taxonomy)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from classifier.model import TrainedModel
from classifier.params import FORMAT, ModelMeta
from classifier.provenance import file_sha256
from classifier.text import JiebaTokenizer, taxonomy_words
from yuqing.settings import TaxonomyFile

META_FILE = "meta.json"
CATEGORY_FILE = "category.skops"
SEVERITY_FILE = "severity.skops"

# Types skops does not trust by default that our pipelines contain. save_model() checks
# the dumped file against this list, so a new scikit-learn that adds a type fails
# loudly at training time, not silently at load time.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    # A dict subclass (VotingClassifier.named_estimators_, ColumnTransformer's
    # named_transformers_); skops rebuilds it from its items, running no code.
    "sklearn.utils._bunch.Bunch",
)


class ModelLoadError(Exception):
    """A saved model is missing, damaged, or cannot be served by this process."""


class ModelMismatchError(ModelLoadError):
    """The model was trained with another segmenter, dictionary or taxonomy."""


def save_model(model: TrainedModel, directory: Path) -> Path:
    """Write ``model``'s files into ``directory`` (created; must be empty or new)."""
    import skops.io as sio

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = [(CATEGORY_FILE, model.category_model)]
    if model.severity_model is not None:
        files.append((SEVERITY_FILE, model.severity_model))
    for name, est in files:
        path = directory / name
        sio.dump(est, path)
        untrusted = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
        if untrusted:
            raise RuntimeError(
                f"{name} contains types not on classifier.persist.TRUSTED_TYPES: "
                f"{sorted(untrusted)}; review them and extend the list"
            )
        model.meta.files[name] = file_sha256(path)
    meta = json.dumps(asdict(model.meta), ensure_ascii=False, indent=2)
    (directory / META_FILE).write_text(meta + "\n", encoding="utf-8")
    return directory


def load_model(
    directory: Path,
    *,
    uncertain_below: float = 0.35,
    taxonomy: TaxonomyFile | None = None,
) -> TrainedModel:
    """Load a model saved by :func:`save_model`.

    Refuses (ModelMismatchError) a model whose segmenter, user dictionary or
    tokeniser settings differ from what this process would use, and, when
    ``taxonomy`` is given, a model trained for other categories or terms.
    """
    import skops.io as sio

    directory = Path(directory)
    meta_path = directory / META_FILE
    try:
        raw = json.loads(meta_path.read_text(encoding="utf-8"))
        meta = ModelMeta(**raw)
    except FileNotFoundError as exc:
        raise ModelLoadError(f"{meta_path}：文件不存在 / {meta_path}: missing") from exc
    except (ValueError, TypeError) as exc:
        raise ModelLoadError(
            f"{meta_path}：模型说明文件已损坏 / {meta_path}: not a valid model description: {exc}"
        ) from exc
    if meta.format != FORMAT:
        raise ModelLoadError(
            f"{meta_path}：模型格式 {meta.format}，本版本只能读取格式 {FORMAT} / "
            f"{meta_path}: format {meta.format}, this version reads {FORMAT}"
        )
    if not all(isinstance(v, dict) for v in (meta.files, meta.tokenizer_params, meta.segmenter)):
        raise ModelLoadError(
            f"{meta_path}：模型说明文件已损坏（字段类型不对）/ "
            f"{meta_path}: not a valid model description (field types)"
        )
    try:
        tokenizer = JiebaTokenizer(**meta.tokenizer_params)
    except TypeError as exc:
        raise ModelLoadError(
            f"{meta_path}：tokenizer_params 有误 / {meta_path}: bad tokenizer_params: {exc}"
        ) from None
    _check_segmenter(meta, tokenizer, meta_path)
    if taxonomy is not None:
        _check_taxonomy(meta, taxonomy, meta_path)
    for name, digest in meta.files.items():
        if name not in (CATEGORY_FILE, SEVERITY_FILE):
            raise ModelLoadError(
                f"{meta_path}：多出未知的文件项 {name!r} / {meta_path}: unexpected file entry {name!r}"
            )
        try:
            actual = file_sha256(directory / name)
        except FileNotFoundError:
            raise ModelLoadError(
                f"{directory}：缺少模型文件 {name} / {directory}: missing model file {name}"
            ) from None
        if actual != digest:
            raise ModelLoadError(
                f"{directory / name}：校验和与 meta.json 不符，文件在训练后被改动过，拒绝加载 / "
                f"{directory / name}: checksum differs from meta.json: "
                "the file was changed after training; refusing to load it"
            )
    try:
        category = sio.load(directory / CATEGORY_FILE, trusted=list(TRUSTED_TYPES))
        severity = None
        if (directory / SEVERITY_FILE).exists():
            severity = sio.load(directory / SEVERITY_FILE, trusted=list(TRUSTED_TYPES))
    except FileNotFoundError as exc:
        raise ModelLoadError(
            f"{directory}：缺少模型文件 {exc.filename} / "
            f"{directory}: missing model file {exc.filename}"
        ) from exc
    except Exception as exc:  # skops raises several types for damaged/untrusted files
        raise ModelLoadError(
            f"{directory}：无法加载模型（文件损坏或含不受信任的类型）/ "
            f"{directory}: cannot load model: {exc}"
        ) from exc
    if [str(c) for c in category.classes_] != meta.categories:
        raise ModelLoadError(
            f"{directory}：类别模型的类别与 meta.json 不符 / "
            f"{directory}: category model classes do not match meta.json"
        )
    return TrainedModel(
        meta=meta,
        tokenizer=tokenizer,
        category_model=category,
        severity_model=severity,
        uncertain_below=uncertain_below,
    )


def _check_segmenter(meta: ModelMeta, tokenizer: JiebaTokenizer, where: Path) -> None:
    saved, running = meta.segmenter, tokenizer.fingerprint()
    problems = [
        f"{key}: model {saved.get(key)!r}, running {running[key]!r}"
        for key in ("name", "version", "userdict_hash", "config_hash")
        if saved.get(key) != running[key]
    ]
    if problems:
        raise ModelMismatchError(
            f"{where}：模型训练时用的分词器与本机不同（{'；'.join(problems)}），"
            "请在本机重新训练 / "
            f"{where}: the model was trained with a different segmenter ("
            + "; ".join(problems)
            + "); retrain it with this installation"
        )


def _check_taxonomy(meta: ModelMeta, taxonomy: TaxonomyFile, where: Path) -> None:
    if sorted(meta.categories) != sorted(taxonomy.category_names()):
        raise ModelMismatchError(
            f"{where}：模型的类别 {meta.categories} 与 taxonomy.yaml 的 "
            f"{taxonomy.category_names()} 不同，请重新训练 / "
            f"{where}: the model's categories {meta.categories} differ from the taxonomy's "
            f"{taxonomy.category_names()}; retrain"
        )
    if JiebaTokenizer(taxonomy_words(taxonomy)).userdict_hash != meta.segmenter["userdict_hash"]:
        raise ModelMismatchError(
            f"{where}：训练后 taxonomy.yaml 的关键词或等级用语改过了，请重新训练 / "
            f"{where}: the taxonomy's keywords or severity terms changed since training; retrain"
        )
    if TaxonomyFile.model_validate(meta.taxonomy) != taxonomy:
        raise ModelMismatchError(
            f"{where}：训练后 taxonomy.yaml 改过了，请重新训练 / "
            f"{where}: the taxonomy changed since training; retrain"
        )
