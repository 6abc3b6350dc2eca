"""`semsearch eval DIR`: retrieval quality per search mode on a BEIR-format collection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from evaluation.beir import BeirFormatError, load
from evaluation.metrics import METRICS
from evaluation.runner import index_corpus, run_mode, scratch_collection
from evaluation.tuning import DEFAULT_FOLDS, fold_split
from semsearch.engine import Engine
from semsearch.extras import require
from semsearch.ranking import Mode
from semsearch_cli.exits import EXIT_USAGE, cli_errors, fail
from semsearch_cli.options import JsonOption, MilvusUriOption, ModelOption, load_settings
from semsearch_cli.output import shows_progress, stdout_console
from semsearch_cli.tuning import print_report, run_tuning

#: The modes `semsearch eval` runs unless --modes names others.
DEFAULT_MODES = "dense,keyword,hybrid"


def evaluate(
    directory: Annotated[Path, typer.Argument(help="BEIR directory: corpus.jsonl, queries.jsonl, qrels/test.tsv.")],
    modes: Annotated[str | None, typer.Option(help=f"Comma-separated search modes (default {DEFAULT_MODES}).")] = None,
    limit_queries: Annotated[int | None, typer.Option(min=1, help="Evaluate only the first N judged queries.")] = None,
    tune_: Annotated[
        bool,
        typer.Option(
            "--tune", help="Choose hybrid fusion (RRF k, weights) by cross-validation; report held-out gains."
        ),
    ] = False,
    folds: Annotated[int | None, typer.Option(help=f"--tune: number of folds (default {DEFAULT_FOLDS}).")] = None,
    save: Annotated[
        bool, typer.Option("--save", help="--tune: store the winner as the collection's default fusion.")
    ] = False,
    as_json: JsonOption = False,
    milvus_uri: MilvusUriOption = None,
    collection: Annotated[
        str | None, typer.Option("--collection", help="Collection to ingest into and evaluate (default eval_<DIR>).")
    ] = None,
    model: ModelOption = None,
) -> None:
    """Ingest the corpus into a scratch collection (reused when unchanged), run every judged query in each mode,
    and print nDCG@10, Recall@10, Recall@100, MRR@10 and the query p50 latency. With --tune, choose the hybrid
    fusion instead (k-fold cross-validation over the judged queries) and, with --save, keep it with the collection."""
    if (save or folds is not None) and not tune_:
        fail("--save and --folds go with --tune", EXIT_USAGE)
    if tune_ and modes is not None:  # tuning always fuses the dense and keyword lists; a mode list would be ignored
        fail("--modes does not go with --tune: --tune fuses the dense and keyword lists of every query", EXIT_USAGE)
    with cli_errors():  # the [eval] extra: said before the corpus is read and indexed
        require("pytrec_eval", "semsearch eval")
    try:
        wanted = [Mode(m.strip()) for m in (modes or DEFAULT_MODES).split(",") if m.strip()]
        data = load(directory, limit_queries)
    except ValueError as exc:  # BeirFormatError, or an unknown mode
        fail(str(exc) if isinstance(exc, BeirFormatError) else f"--modes: {exc}", EXIT_USAGE)
    if tune_:
        try:
            fold_split(list(data.queries), folds or DEFAULT_FOLDS)  # a bad --folds fails before the slow ingest
        except ValueError as exc:
            fail(str(exc), EXIT_USAGE)
    settings = load_settings(milvus_uri=milvus_uri, model=model, collection=collection or scratch_collection(data.name))
    console = Console(stderr=True)
    with cli_errors():
        engine = Engine.open(settings, create=True)
        try:
            with Progress(console=console, disable=as_json or not shows_progress(console)) as progress:
                task = progress.add_task(f"index {data.name}", total=len(data.corpus))
                stats = index_corpus(engine, data, lambda n: progress.advance(task, n))
            if tune_:
                report = run_tuning(
                    engine, data, folds or DEFAULT_FOLDS, save=save, console=console, quiet=as_json
                )  # fmt: skip
                print_report(report, data, settings.collection, save, as_json)
                return
            for mode in wanted:
                engine.searcher.check_mode(mode)
            results = [run_mode(engine, data, mode) for mode in wanted]
        finally:
            engine.close()
    summary = {
        "dataset": data.name,
        "documents": len(data.corpus),
        "queries": len(data.queries),
        "chunks": stats.chunks,
        "embedded": stats.embedded,
        "model": settings.model,
        "modes": {r.mode.value: {**r.metrics, "p50_ms": r.p50_ms} for r in results},
    }
    if as_json:
        typer.echo(json.dumps(summary))
        return
    table = Table(
        title=f"{data.name}: {len(data.queries)} queries, {len(data.corpus)} documents, {stats.chunks} chunks"
    )
    table.add_column("mode")
    for name in (*METRICS, "p50 ms"):
        table.add_column(name, justify="right")
    for r in results:
        table.add_row(r.mode.value, *(f"{r.metrics[m]:.4f}" for m in METRICS), f"{r.p50_ms:.1f}")
    stdout_console().print(table)
