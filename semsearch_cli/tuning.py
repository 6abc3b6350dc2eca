"""`semsearch eval DIR --tune [--folds 5] [--save]`: the cross-validated fusion report, and saving its winner."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from evaluation.beir import BeirSet
from evaluation.tuning import BUILT_IN, FOLD_SEED, TuneReport, fetch_candidates, tune
from semsearch.default_fusion import save_default_fusion
from semsearch.engine import Engine
from semsearch.ranking import Mode
from semsearch_cli.output import shows_progress, stdout_console

#: How much of a model name the saved fusion records (the row it lives in holds 256 bytes).
MODEL_CHARS = 64


def run_tuning(engine: Engine, data: BeirSet, folds: int, *, save: bool, console: Console, quiet: bool) -> TuneReport:
    """Fetch the candidates once, cross-validate the grid, and with `save` store the winner with the collection."""
    engine.searcher.check_mode(Mode.HYBRID)
    with Progress(console=console, disable=quiet or not shows_progress(console)) as progress:
        task = progress.add_task("fetch candidates", total=len(data.queries))
        candidates = fetch_candidates(engine, data, lambda: progress.advance(task))
    report = tune(candidates, data.qrels, folds)
    if save:
        held_out = report.to_dict()["held_out"]
        save_default_fusion(
            engine.store,
            report.chosen,
            tuned_on=f"{data.name[:40]}: {report.queries} queries, {len(report.folds)} folds",
            held_out_gain=held_out["mean_gain"],
            model=engine.embedder.model_id[-MODEL_CHARS:],
        )
    return report


def print_report(report: TuneReport, data: BeirSet, collection: str, saved: bool, as_json: bool) -> None:
    found: dict[str, Any] = report.to_dict()
    if as_json:
        typer.echo(json.dumps({"dataset": data.name, "collection": collection, "saved": saved, "tune": found}))
        return
    table = Table(
        title=f"fusion tuned on {data.name}: {report.queries} queries in {len(report.folds)} folds (seed {FOLD_SEED})",
        caption="nDCG@10 on each held-out fold",
    )
    for column in ("fold", "queries", "chosen on the other folds", f"{BUILT_IN.describe()} (built-in)", "tuned"):
        table.add_column(column, justify="left" if column.startswith("chosen") else "right")
    table.add_column("gain", justify="right")
    for number, fold in enumerate(report.folds, 1):
        table.add_row(
            str(number), str(fold.queries), fold.chosen.describe(), f"{fold.default:.4f}", f"{fold.tuned:.4f}",
            f"{fold.gain:+.4f}",
        )  # fmt: skip
    out = stdout_console()
    out.print(table)
    held = found["held_out"]
    out.print(
        f"held-out nDCG@10: {held['default_ndcg@10']:.4f} built-in, {held['tuned_ndcg@10']:.4f} tuned; gain "
        f"{held['mean_gain']:+.4f} (std {held['std_gain']:.4f}, min {held['min_gain']:+.4f}, max "
        f"{held['max_gain']:+.4f} across folds)",
        highlight=False,
    )
    repeated = found["repeated"]
    out.print(
        f"the same cross-validation on {repeated['splits']} differently seeded splits: held-out gain "
        f"{repeated['mean_gain']:+.4f} (std {repeated['std_gain']:.4f}, min {repeated['min_gain']:+.4f}, max "
        f"{repeated['max_gain']:+.4f} across splits)",
        highlight=False,
    )
    parts = ", ".join(f"{name} {gain:+.4f}" for name, gain in found["held_out_gain_by_family"].items())
    out.print(f"held-out mean gain when tuning only: {parts}", highlight=False)
    everything = found["all_queries"]
    out.print(
        f"chosen on all {report.queries} queries (what --save stores): {report.chosen.describe()}, nDCG@10 "
        f"{everything['chosen_ndcg@10_in_sample']:.4f} in-sample, not an estimate (built-in: "
        f"{everything['default_ndcg@10']:.4f})",
        highlight=False,
    )
    if repeated["mean_gain"] <= 0:  # the steadier estimate of the two
        out.print(
            f"cross-validation found no held-out gain over {BUILT_IN.describe()} on {repeated['splits']} splits: "
            f"{report.chosen.describe()} is not expected to beat it on new queries",
            style="yellow",
            highlight=False,
        )
    if saved:
        out.print(f"saved as the default fusion of collection {collection!r}", highlight=False)
    else:
        out.print(f"not saved: --save makes it the default fusion of collection {collection!r}", highlight=False)
