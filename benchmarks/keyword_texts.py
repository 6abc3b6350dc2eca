"""What should BM25 read? Keyword (and hybrid) nDCG@10 of several keyword texts against one collection's vectors.

The dense document lists come from a collection `semsearch eval DIR` filled (its chunk size is the vectors'); each
variant's keyword texts are built for the same documents and indexed alone in a scratch Milvus Lite collection with
the product's analyzer and BM25 function, searched 500 deep, reduced to the best row per document, and fused with
the dense lists by the product's `Fusion` (rrf k=60), as `semsearch eval` fuses hybrid. Variants:
- `window:N`: the product's keyword text, each chunk's N-token window behind the title (`semsearch.keywords`);
- `passage:N:O`: the documents cut into N-token passages overlapping by O tokens (the product's chunker), one row
  each behind the title: each passage of a document counted about once in BM25's statistics;
- `document`: one row per document (its whole text behind the title).
The first row is the collection's own keyword search, for reference.

    .venv/bin/python benchmarks/keyword_texts.py ../shared/beir/scifact --milvus-uri DB --chunk-tokens 144
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from _common import eval_candidates, in_the_repo, print_table

VARIANTS = "window:256,window:320,window:448,passage:256:0,passage:256:32,document"
DEPTH = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="the BEIR directory `semsearch eval` indexed")
    parser.add_argument("--milvus-uri", required=True, help="the .db (or server) `semsearch eval` filled")
    parser.add_argument("--chunk-tokens", type=int, required=True, help="the chunk size that collection was built at")
    parser.add_argument("--variants", default=VARIANTS)
    args = parser.parse_args()
    directory = args.directory.resolve()
    in_the_repo()
    os.environ.setdefault("SEMSEARCH_MODEL_CACHE", str(Path("data/models").resolve()))
    from evaluation.metrics import NdcgAt10
    from evaluation.runner import RUN_DEPTH
    from evaluation.tuning import BUILT_IN
    from semsearch.settings import Settings

    data, candidates = eval_candidates(directory, args.milvus_uri, chunk_tokens=args.chunk_tokens)
    scorer = NdcgAt10({qid: data.qrels[qid] for qid in candidates})

    def scores(keyword: dict[str, list]) -> list[str]:
        dense = {qid: [hit.doc_id for hit in c.dense][:RUN_DEPTH] for qid, c in candidates.items()}
        fused = {
            qid: BUILT_IN.ranking(c.dense, keyword[qid], RUN_DEPTH, key=lambda hit: hit.doc_id)
            for qid, c in candidates.items()
        }
        runs = (dense, {qid: [hit.doc_id for hit in hits][:RUN_DEPTH] for qid, hits in keyword.items()}, fused)
        return [f"{_mean(scorer(run)):.4f}" for run in runs]

    window = Settings().keyword_window_tokens  # what the collection was built with, unless it was told otherwise
    rows = [[f"the collection's own ({window}-token windows)", "-", *scores(
        {qid: c.keyword for qid, c in candidates.items()}
    )]]  # fmt: skip
    for variant in args.variants.split(","):
        texts = keyword_texts(data, variant, args.chunk_tokens)
        rows.append([variant, f"{len(texts):,}", *scores(bm25_lists(texts, data.queries))])
        print(rows[-1], flush=True)
    where = f"{args.milvus_uri} ({args.chunk_tokens}-token chunks)"
    print(f"\n{data.name}: dense from {where}, fusion {BUILT_IN.describe()}")
    print_table(["keyword text", "rows", "dense nDCG@10", "keyword nDCG@10", "hybrid nDCG@10"], rows)


def keyword_texts(data, variant: str, chunk_tokens: int) -> list[tuple[str, str]]:
    """(doc_id, keyword text) rows of one variant, built with the product's own chunker, windows and titles."""
    from semsearch.chunking import split_document
    from semsearch.engine import Engine
    from semsearch.settings import Settings
    from semsearch.store.schema import KEYWORD_FIELD, keyword_text

    kind, *numbers = variant.split(":")
    window = int(numbers[0]) if kind == "window" else 0
    with tempfile.TemporaryDirectory() as scratch:  # an empty collection, for the indexer's rows of this setting
        settings = Settings(
            milvus_uri=f"{scratch}/rows.db",
            collection="rows",
            chunk_tokens=chunk_tokens,
            keyword_window_tokens=window,
            _env_file=None,
        )
        engine = Engine.open(settings, create=True)
        try:
            rows = []
            for doc in data.corpus:
                title = doc.metadata.get("title")
                if kind == "window":
                    rows += [(doc.id, row[KEYWORD_FIELD]) for row in engine.indexer.rows(doc)]
                elif kind == "passage":
                    size, overlap = int(numbers[0]), int(numbers[1])
                    passages = split_document(doc.id, doc.text, engine.embedder.tokenizer, size, overlap)
                    rows += [(doc.id, keyword_text(p.text, title)) for p in passages]
                elif kind == "document":
                    rows.append((doc.id, keyword_text(doc.text, title)))
                else:
                    raise SystemExit(f"unknown variant {variant!r}: window:N, passage:N:OVERLAP or document")
        finally:
            engine.close()
    return rows


def bm25_lists(texts: list[tuple[str, str]], queries: dict[str, str]) -> dict[str, list]:
    """Each query's documents by their best row's BM25 score, from a scratch BM25-only Milvus Lite collection
    with the product's analyzer and function (`semsearch.store.schema`), as Hits for `Fusion`."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    from semsearch.store.schema import TEXT_MAX_BYTES

    with tempfile.TemporaryDirectory() as scratch:
        client = MilvusClient(f"{scratch}/bm25.db")
        schema = MilvusClient.create_schema(auto_id=True)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=512)
        analyzer = {"enable_analyzer": True, "analyzer_params": {"type": "english"}}
        schema.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX_BYTES, **analyzer)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        bm25 = Function(
            name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]
        )
        schema.add_function(bm25)
        index = client.prepare_index_params()
        index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        client.create_collection("k", schema=schema, index_params=index)
        for start in range(0, len(texts), 5000):
            batch = texts[start : start + 5000]
            client.insert("k", [{"doc_id": doc_id, "text": text} for doc_id, text in batch])
        client.flush("k")
        client.load_collection("k")
        found = {}
        for qid, query in queries.items():
            (hits,) = client.search("k", data=[query], anns_field="sparse", limit=DEPTH, output_fields=["doc_id"])
            best: dict[str, float] = {}
            for hit in hits:
                best.setdefault(hit["entity"]["doc_id"], hit["distance"])
            found[qid] = [_hit(doc_id, score) for doc_id, score in best.items()]
        client.close()
    return found


def _hit(doc_id: str, score: float):
    from semsearch.store import Hit

    blank = {"text": "", "source": "", "char_start": 0, "char_end": 0, "metadata": {}}
    return Hit(id=doc_id, doc_id=doc_id, chunk_index=0, score=score, raw_score=score, **blank)


def _mean(per_query: dict[str, float]) -> float:
    return sum(per_query.values()) / len(per_query)


if __name__ == "__main__":
    main()
