"""yuqing init: create the store, the first admin, the first model and the index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from runtime.cli import CliState, pass_state
from runtime.cli.common import keep_first_admin, progress_printer
from runtime.cli.i18n import _, lang, one_language


@click.command("init", short_help="Create the database, the first admin, model and index.")
@click.option("--train", "train_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Labelled JSONL or CSV file to train the first model on.")  # fmt: skip
@click.option("--text-field", default="text", show_default=True, help="With --train.")
@click.option("--label-field", default="category", show_default=True, help="With --train.")
@click.option("--severity-field", default="severity", show_default=True,
              help="With --train: optional tier column (I-IV or 1-4).")  # fmt: skip
@click.option("--group-field", default=None, help="With --train: near-duplicate group column.")
@click.option("--demo", is_flag=True,
              help="No model yet: train a demo model on the bundled synthetic posts.")  # fmt: skip
@pass_state
def command(
    state: CliState,
    train_file: Path | None,
    text_field: str,
    label_field: str,
    severity_field: str,
    group_field: str | None,
    demo: bool,
) -> None:
    """Create or migrate the store, create the first console admin when there is
    none (password from YUQING_ADMIN_PASSWORD, else generated into
    var/secrets/admin-password), open the search index, and make sure a classifier model is active. Safe to repeat.

    The model: with --train FILE, one trained on that labelled file (kept when the
    active model was already trained on exactly this file). With --demo and no model
    yet, one trained on the bundled synthetic demo posts, marked as such wherever it
    is shown. With neither, an existing model is kept, and when there is none init
    says so and how to train one: it never trains on demo data unasked."""
    from console.accounts import ensure_first_admin

    if train_file is not None and demo:
        raise click.UsageError(_("give --train FILE or --demo, not both"))
    lset = None
    if train_file is not None:
        from classifier.datafile import DataError, labelled, read_rows

        try:  # a bad file stops init before anything is written
            lset = labelled(
                read_rows(train_file),
                text_field=text_field,
                label_field=label_field,
                severity_field=severity_field,
                group_field=group_field,
            )
        except DataError as exc:
            raise click.UsageError(str(exc)) from None
    app = state.app()
    progress = progress_printer()
    try:
        progress(_("store: {url}").format(url=app.store.safe_url))
        with app.store.session() as s:
            created = ensure_first_admin(s, app.config, app.now())
        if lset is not None and train_file is not None:
            fields = {"text_field": text_field, "label_field": label_field,
                      "severity_field": severity_field, "group_field": group_field}  # fmt: skip
            model_line = _train_first(app, train_file, lset, fields, progress)
        else:
            model_line = _model_line(app, demo, progress)
        app.index.count()
        click.echo(_("store      {value}").format(value=app.store.safe_url))
        click.echo(_("model      {value}").format(value=model_line))
        click.echo(_("index      {value}").format(value=app.config.settings.index.backend))
        click.echo(_("var        {value}").format(value=app.config.var_dir))
        admin = keep_first_admin(app.config.var_dir, created)
        if admin:
            click.echo(_("admin      {value}").format(value=admin))
    finally:
        app.close()


def _model_line(app: Any, demo: bool, progress: Any) -> str:
    from classifier.provenance import describe_version
    from runtime.app import NoModelError

    try:
        model = app.model(progress=progress, demo=demo)
    except NoModelError as exc:
        return _("none — {reason}").format(reason=one_language(exc.message))
    return f"{model.version}  ({describe_version(app.config.model_dir / model.version)})"


def _train_first(app: Any, data: Path, lset: Any, fields: dict[str, Any], progress: Any) -> str:
    """Train on ``data`` and activate it, unless the active model was trained on it."""
    from classifier.bootstrap import active_version, save_version
    from classifier.persist import ModelLoadError
    from classifier.provenance import Provenance, ProvenanceError, file_source, read_provenance
    from classifier.registry import Registry
    from classifier.report import write_report
    from classifier.training import TrainingDataError, train_with_report

    config = app.config
    source = file_source(data, len(lset.examples), **fields)
    try:
        current = active_version(config.model_dir)
    except ModelLoadError:
        current = None
    if current is not None:
        try:
            prov = read_provenance(config.model_dir / current)
        except ProvenanceError:
            prov = None  # an unreadable record: train afresh
        if prov and [(s.path, s.sha256) for s in prov.sources] == [(source.path, source.sha256)]:
            return _("{version}  (already trained on {data}; kept)").format(
                version=current, data=data
            )
    progress(f"{data.name}: {lset.summary()}")
    try:
        model, report = train_with_report(
            lset.examples,
            config.taxonomy,
            groups=lset.groups,
            uncertain_below=config.settings.classifier.uncertain_below,
            progress=progress,
            clock=app.now,
        )
    except (TrainingDataError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    prov = Provenance(sources=[source])
    report["data"] = {"file": str(data), "summary": lset.summary(), "provenance": prov.to_dict()}
    path = save_version(model, config.model_dir, provenance=prov)
    write_report(report, path, title=f"模型评估 {model.version}")
    reg = Registry(app.store, config.model_dir, config.taxonomy, app.now)
    reg.register(model, path, note=f"yuqing init --train {data.name}")
    reg.promote(model.version, actor="init")
    return _("{version}  (trained on {data}; active)").format(
        version=model.version, data=prov.describe(lang())
    )
