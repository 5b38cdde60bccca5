"""yuqing sentiment: the negativity model (classifier/sentiment.py), trained and shown."""

from __future__ import annotations

import json
from pathlib import Path

import click

from runtime.cli import CliState, pass_state
from runtime.cli.i18n import _

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


@click.group("sentiment", short_help="Negativity: a model's estimate per post.")
def command() -> None:
    """Negativity of posts (0 to 1), learned from labelled emotions (e.g. the Weibo
    emotion set). Posts stored while a model is present carry the score; it is a
    model's estimate: read its trend, not one post's score."""


@command.command("train", short_help="Train the negativity model on labelled emotions.")
@click.option(
    "--data",
    "data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="JSONL with text and label_name (fear, anger, sadness, disgust are negative).",
)
@click.option("--holdout", default=0.2, show_default=True, help="Share held out to measure.")
@json_option
@pass_state
def train_(state: CliState, data: Path, holdout: float, as_json: bool) -> None:
    from classifier import sentiment

    config = state.config()
    try:
        texts, labels, digest = sentiment.read_emotions(data)
        model = sentiment.train(texts, labels, holdout=holdout, data_sha256=digest)
    except (sentiment.SentimentDataError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    where = sentiment.save(model, config.model_dir)
    _show(model.meta, where, as_json)


@command.command("show", short_help="The negativity model in use and its held-out figures.")
@json_option
@pass_state
def show(state: CliState, as_json: bool) -> None:
    from classifier import sentiment

    config = state.config()
    try:
        meta = sentiment.read_meta(config.model_dir)
    except sentiment.SentimentLoadError as exc:
        raise click.ClickException(str(exc)) from None
    if meta is None:
        raise click.ClickException(
            _("no negativity model in {dir}; train one with {command}").format(
                dir=config.model_dir, command="`yuqing sentiment train --data FILE`"
            )
        )
    _show(meta, config.model_dir / sentiment.DIRECTORY, as_json)


@command.command("score", short_help="Score texts given as arguments.")
@click.argument("texts", nargs=-1, required=True)
@pass_state
def score(state: CliState, texts: tuple[str, ...]) -> None:
    from classifier import sentiment

    try:
        model = sentiment.load(state.config().model_dir)
    except sentiment.SentimentLoadError as exc:
        raise click.ClickException(str(exc)) from None
    if model is None:
        raise click.ClickException(
            _("no negativity model; train one with {command}").format(
                command="`yuqing sentiment train`"
            )
        )
    for text, value in zip(texts, model.score_many(texts), strict=True):
        click.echo(f"{value:.2f}\t{text}")


def _show(meta: object, where: Path, as_json: bool) -> None:
    from dataclasses import asdict

    doc = {**asdict(meta), "path": str(where)}  # type: ignore[call-overload]
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    f = doc["figures"]
    click.echo(
        _("{version}  ({n} texts, trained {at})").format(
            version=doc["version"], n=doc["examples"], at=doc["trained_at"]
        )
    )
    click.echo(
        _(
            "held out {n}: accuracy {accuracy:.3f}, macro-F1 {f1:.3f}, AUC {auc:.3f} "
            "(negative share {negative:.2f})"
        ).format(
            n=int(f.get("held_out", 0)),
            accuracy=f["accuracy"],
            f1=f["macro_f1"],
            auc=f["auc"],
            negative=f["negative_share"],
        )
    )
    click.echo(f"{where}")
    # classifier.sentiment.CAUTION_ZH is the Chinese, kept word for word in the catalogue
    click.echo(
        _(
            "negativity is the model's estimate (trained on Weibo emotion texts): read it "
            "as a trend, not as a verdict on a single post"
        )
    )
