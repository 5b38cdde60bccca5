"""yuqing classifier: train, evaluate, predict, and manage model versions."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from runtime.cli import CliState, pass_state
from runtime.cli.common import progress_printer
from runtime.cli.i18n import _, lang

_DATA = click.Path(dir_okay=False, path_type=Path)


def _usage(exc: Exception) -> click.UsageError:
    return click.UsageError(str(exc))


def _load(state: CliState, spec: str) -> Any:
    """A model from a version directory, a model directory (its ``current``), or a
    version name in the configured model directory. Problems are usage errors."""
    from classifier.bootstrap import active_version
    from classifier.persist import META_FILE, ModelLoadError, load_model

    config = state.config()
    uncertain = config.settings.classifier.uncertain_below
    path = Path(spec)
    try:
        if not (path / META_FILE).is_file():
            if path.is_dir() and (name := active_version(path)):
                path = path / name
            elif (config.model_dir / spec / META_FILE).is_file():
                path = config.model_dir / spec
            else:
                raise click.UsageError(
                    _("--model {spec}: no model there (no meta.json, no current)").format(spec=spec)
                )
        # The model's own taxonomy (it may have been trained on another label set);
        # the segmenter is still checked against this installation.
        return load_model(path, uncertain_below=uncertain)
    except ModelLoadError as exc:
        raise _usage(exc) from None


@click.group("classifier", short_help="Train, evaluate and manage the classifier models.")
def command() -> None:
    """Train, evaluate and manage the category and severity models.

    Data files are JSONL (one object per line) or CSV with a header row.
    """


@command.command("train")
@click.option("--data", "data", type=_DATA, required=True, help="Labelled JSONL or CSV file.")
@click.option("--text-field", default="text", show_default=True)
@click.option("--label-field", default="category", show_default=True)
@click.option("--severity-field", default="severity", show_default=True,
              help="Optional tier column (I-IV or 1-4); absent means rubric-only severity.")  # fmt: skip
@click.option("--group-field", default=None, help="Near-duplicate group column (kept together).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Model directory to write to (default: the registry's, not activated).")  # fmt: skip
@click.option("--holdout", default=0.2, show_default=True, type=click.FloatRange(0, 0.5),
              help="Share held out for the report before the final fit on everything.")  # fmt: skip
@click.option("--labels-from-data", is_flag=True,
              help="Use the file's labels as the categories instead of the taxonomy's.")  # fmt: skip
@click.option("--with-corrections", is_flag=True, help="Add staff corrections from the store.")
@click.option("--synthetic", is_flag=True,
              help="The file is synthetic (e.g. demo posts): the model says so wherever shown.")  # fmt: skip
@click.option("--activate", is_flag=True, help="Promote the new version at once.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_state
def train_cmd(
    state: CliState,
    data: Path,
    text_field: str,
    label_field: str,
    severity_field: str,
    group_field: str | None,
    out: Path | None,
    holdout: float,
    labels_from_data: bool,
    with_corrections: bool,
    synthetic: bool,
    activate: bool,
    as_json: bool,
) -> None:
    """Train a model on a labelled file and write it with its evaluation report.

    The model records the file (path, SHA-256, rows, field options): `yuqing
    classifier retrain` and the console's retraining read exactly that file again."""
    from classifier.bootstrap import save_version, set_active
    from classifier.datafile import DataError, labelled, labels_in, read_rows
    from classifier.provenance import Provenance, file_source
    from classifier.report import summary_lines, write_report
    from classifier.training import TrainingDataError, taxonomy_for_labels, train_with_report

    config = state.config()
    say = progress_printer(not as_json)
    try:
        ds = read_rows(data)
        lset = labelled(
            ds,
            text_field=text_field,
            label_field=label_field,
            severity_field=severity_field,
            group_field=group_field,
        )
    except DataError as exc:
        raise _usage(exc) from None
    say(f"{data.name}: {lset.summary()}")
    source = file_source(
        data,
        len(lset.examples),
        synthetic=synthetic,
        text_field=text_field,
        label_field=label_field,
        severity_field=severity_field,
        group_field=group_field,
    )
    examples, groups = list(lset.examples), lset.groups
    app = state.app()
    try:
        if with_corrections:
            from classifier.corrections import correction_examples

            with app.store.session() as s:
                extra = correction_examples(s)
            say(_("staff corrections: {n}").format(n=len(extra)))
            examples += extra
            if groups is not None:
                groups = groups + [f"correction-{i}" for i in range(len(extra))]
        taxonomy = config.taxonomy
        if labels_from_data:
            taxonomy = taxonomy_for_labels(taxonomy, labels_in(examples))
        try:
            model, report = train_with_report(
                examples,
                taxonomy,
                groups=groups,
                holdout=holdout,
                uncertain_below=config.settings.classifier.uncertain_below,
                progress=say,
                clock=app.now,
            )
        except (TrainingDataError, ValueError) as exc:
            raise _usage(exc) from None
        prov = Provenance(
            sources=[source],
            corrections=len(examples) - len(lset.examples),
            labels_from_data=labels_from_data,
        )
        report["data"] = {
            "file": str(data),
            "summary": lset.summary(),
            "provenance": prov.to_dict(),
        }
        if with_corrections:
            report["corrections"] = prov.corrections
        target = out or config.model_dir
        path = save_version(model, target, provenance=prov)
        files = write_report(report, path, title=f"模型评估 {model.version}")
        if out is not None:
            set_active(out, model.version)
        else:
            from classifier.registry import Registry

            reg = Registry(app.store, target, config.taxonomy, app.now)
            reg.register(model, path, note=f"trained on {data.name}")
            if activate:
                reg.promote(model.version, actor="cli")
        if as_json:
            click.echo(json.dumps(report, ensure_ascii=False))
            return
        click.echo(_("model {version} saved: {path}").format(version=model.version, path=path))
        for line in summary_lines(report):
            click.echo(line)
        click.echo(_("report: {path}").format(path=files[1]))
        if out is None and not activate:
            click.echo(
                _("to activate: {command}").format(
                    command=f"yuqing classifier promote {model.version}"
                )
            )
    finally:
        app.close()


@command.command("evaluate")
@click.option("--model", "model_spec", required=True, help="Model directory or version.")
@click.option("--data", "data", type=_DATA, required=True, help="Labelled JSONL or CSV file.")
@click.option("--text-field", default="text", show_default=True)
@click.option("--label-field", default="category", show_default=True)
@click.option("--severity-field", default="severity", show_default=True)
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where report.json and report.html go (default: next to the model).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_state
def evaluate_cmd(
    state: CliState,
    model_spec: str,
    data: Path,
    text_field: str,
    label_field: str,
    severity_field: str,
    report_dir: Path | None,
    as_json: bool,
) -> None:
    """Measure a model on a labelled file: accuracy, per-class P/R/F1, confusion, calibration."""
    from classifier.datafile import DataError, labelled, read_rows
    from classifier.report import summary_lines, write_report
    from classifier.training import evaluate

    model = _load(state, model_spec)
    try:
        lset = labelled(
            read_rows(data),
            text_field=text_field,
            label_field=label_field,
            severity_field=severity_field,
            min_classes=1,
        )
    except DataError as exc:
        raise _usage(exc) from None
    progress_printer(not as_json)(f"{data.name}: {lset.summary()}")
    report = evaluate(model, lset.examples)
    report["data"] = {"file": str(data), "summary": lset.summary()}
    # Next to the model evaluated: its directory when given one, else its registry folder.
    where = report_dir or (
        Path(model_spec) if Path(model_spec).is_dir() else _model_path(state, model)
    )
    files: list[Path] = []
    try:
        files = write_report(report, where / f"eval-{data.stem}", title=f"评估 {data.name}")
    except OSError as exc:
        click.echo(_("warning: report not written: {error}").format(error=exc), err=True)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    for line in summary_lines(report):
        click.echo(line)
    if files:
        click.echo(_("report: {path}").format(path=files[1]))


def _model_path(state: CliState, model: Any) -> Path:
    cfg = state.config().model_dir / model.version
    return cfg if cfg.is_dir() else Path.cwd()


@command.command("predict")
@click.option("--model", "model_spec", required=True, help="Model directory or version.")
@click.option("--input", "input_", type=_DATA, required=True, help="JSONL or CSV file.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="JSONL output, one object per input row ('-' for stdout).")  # fmt: skip
@click.option("--text-field", default="text", show_default=True)
@click.option("--id-field", default="id", show_default=True)
@pass_state
def predict_cmd(
    state: CliState,
    model_spec: str,
    input_: Path,
    output: Path,
    text_field: str,
    id_field: str,
) -> None:
    """Classify every row: id, category, category_confidence, severity (1-4, 4 = I), reasons.

    An empty text gets the uncertain label with confidence 0; texts over 20,000
    characters are classified on their first 20,000 (both say so in reasons).
    """
    from classifier.datafile import DataError, read_rows, unlabelled_texts
    from classifier.training import predict_rows

    model = _load(state, model_spec)
    try:
        ids, texts, likes, replies = unlabelled_texts(
            read_rows(input_), text_field=text_field, id_field=id_field
        )
    except DataError as exc:
        raise _usage(exc) from None
    to_stdout = str(output) == "-"
    sink = sys.stdout if to_stdout else output.open("w", encoding="utf-8")
    try:
        show = sys.stderr.isatty() and not to_stdout
        with click.progressbar(length=len(texts), label=_("predicting"), file=sys.stderr,
                               hidden=not show) as bar:  # fmt: skip
            for obj in predict_rows(
                model, ids, texts, likes=likes, replies=replies, on_batch=bar.update
            ):
                sink.write(json.dumps(obj, ensure_ascii=False) + "\n")
    finally:
        if not to_stdout:
            sink.close()
    if not to_stdout:
        click.echo(
            _("{n} predictions by {version} -> {output}").format(
                n=len(texts), version=model.version, output=output
            ),
            err=True,
        )


def _registry(state: CliState) -> Any:
    from classifier.registry import Registry

    config = state.config()
    app = state.app()
    return app, Registry(app.store, config.model_dir, config.taxonomy, app.now)


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the versions as JSON.")
@pass_state
def list_cmd(state: CliState, as_json: bool) -> None:
    """Model versions, oldest first; * marks the active one; [what it was trained on]."""
    from dataclasses import asdict

    from classifier.provenance import describe_version

    app, reg = _registry(state)
    try:
        versions = reg.versions()
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps({"versions": [asdict(v) for v in versions]}, ensure_ascii=False))
        return
    if not versions:
        click.echo(_("no model versions yet (yuqing init --train FILE trains the first)"))
    for v in versions:
        m = v.metrics
        f1 = m.get("holdout_macro_f1")
        score = f"  macro-F1 {f1:.3f}" if isinstance(f1, float) else ""
        gone = "" if v.on_disk else _("  (files missing)")
        click.echo(
            f"{'*' if v.active else ' '} {v.version}  {v.created_at[:19]}  "
            f"n={m.get('n_category_examples', '?')}{score}{gone}  "
            f"[{describe_version(Path(v.path), lang())}]"
        )


@command.command("retrain")
@click.option("--from", "base", default=None,
              help="Version whose training data to reuse (default: the active one).")  # fmt: skip
@click.option("--holdout", default=0.2, show_default=True, type=click.FloatRange(0, 0.5),
              help="Share held out for the report before the final fit on everything.")  # fmt: skip
@click.option("--activate", is_flag=True, help="Promote the new version at once.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_state
def retrain_cmd(
    state: CliState, base: str | None, holdout: float, activate: bool, as_json: bool
) -> None:
    """Retrain on the active model's own training data plus every staff correction.

    The data is read again from the files the model recorded, after checking their
    SHA-256; a file that is gone or changed is an error naming it (exit 2), never a
    fall-back to other data."""
    from classifier.bootstrap import active_version
    from classifier.corrections import retrain
    from classifier.persist import META_FILE, ModelLoadError
    from classifier.provenance import ProvenanceError
    from classifier.report import summary_lines

    config = state.config()
    say = progress_printer(not as_json)
    try:
        name = base or active_version(config.model_dir)
    except ModelLoadError as exc:
        raise _usage(exc) from None
    if name is None:
        raise click.UsageError(
            _("no active model in {dir} to retrain").format(dir=config.model_dir)
        )
    if not (config.model_dir / name / META_FILE).is_file():
        raise click.UsageError(
            _("no model version {name!r} in {dir}").format(name=name, dir=config.model_dir)
        )
    app, reg = _registry(state)
    try:
        with app.store.session() as s:
            try:
                model, report, path = retrain(
                    config.model_dir / name,
                    s,
                    config.taxonomy,
                    config.model_dir,
                    uncertain_below=config.settings.classifier.uncertain_below,
                    holdout=holdout,
                    clock=app.now,
                    progress=say,
                )
            except (ProvenanceError, ValueError) as exc:
                raise _usage(exc) from None
        reg.register(model, path, note=f"retrained from {name} with corrections")
        if activate:
            reg.promote(model.version, actor="cli")
    finally:
        app.close()
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    click.echo(
        _("model {version} saved: {path}").format(version=model.version, path=path)
        + f"  ({report['data']['summary']})"
    )
    for line in summary_lines(report):
        click.echo(line)
    if not activate:
        click.echo(
            _("to activate: {command}").format(command=f"yuqing classifier promote {model.version}")
        )


@command.command("promote")
@click.argument("version")
@pass_state
def promote_cmd(state: CliState, version: str) -> None:
    """Make VERSION the active model; a running service switches within seconds."""
    from classifier.registry import RegistryError

    app, reg = _registry(state)
    try:
        previous = reg.promote(version, actor="cli")
    except RegistryError as exc:
        raise _usage(exc) from None
    finally:
        app.close()
    click.echo(
        _("active: {version} (was {previous})").format(
            version=version, previous=previous or _("none")
        )
    )


@command.command("rollback")
@pass_state
def rollback_cmd(state: CliState) -> None:
    """Re-activate the version that was active before the current one."""
    from classifier.registry import RegistryError

    app, reg = _registry(state)
    try:
        old, new = reg.rollback(actor="cli")
    except RegistryError as exc:
        raise _usage(exc) from None
    finally:
        app.close()
    click.echo(_("active: {new} (rolled back from {old})").format(new=new, old=old))
