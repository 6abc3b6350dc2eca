"""Chunk rows for the scale benchmarks (`writes.py`, `scale.py`), generated a batch at a time so that a
million-row build never holds a million vectors and texts in memory.

Row `i` is chunk `i % 4` of document `doc-{i // 4}`, its text a real sample_data paragraph (413 of them, cycled).
Its vector is the real embedding of that paragraph (all-MiniLM-L6-v2, computed once and cached under
benchmarks/results/) plus Gaussian noise of norm about `NOISE`, normalised: rows are distinct but lie where real
embeddings lie, in clusters around real text. Uniformly random vectors (what `backends.py` writes) are the worst
case for a clustering index such as IVF_FLAT, whose recall on real embeddings is much better; these are closer to
real use. Recall queries (`recall_queries`) are built the same way with another seed: near real rows, not copies.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import numpy as np
from _common import RESULTS, ROOT

DIM = 384
#: Norm of the noise added to a paragraph's embedding (relative to the unit embedding): two rows of the same
#: paragraph then have cosine ~0.8, while distinct paragraphs of sample_data are mostly below 0.5.
NOISE = 0.5
#: Rows per batch handed to the store, and per generated batch.
BUILD_BATCH = 20_000


@cache
def texts() -> list[str]:
    return [
        paragraph.strip()[:2000]
        for path in sorted((ROOT / "sample_data").rglob("*.md"))
        for paragraph in path.read_text().split("\n\n")
        if len(paragraph.strip()) > 40
    ]


@cache
def embeddings() -> np.ndarray:
    """The real embeddings of `texts()`, cached as .npy (about 10 s to make on two cores)."""
    path = RESULTS / "scale" / f"paragraphs-{len(texts())}.npy"
    if path.exists():
        return np.load(path)
    from semsearch.embedder import Embedder
    from semsearch.settings import Settings

    vectors = np.asarray(Embedder.load(Settings(_env_file=None)).embed_documents(texts()), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def _near(indices: np.ndarray, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal((len(indices), DIM)).astype(np.float32)
    vectors = embeddings()[indices] + noise * (NOISE / np.sqrt(DIM))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def chunk_rows(start: int, stop: int) -> list[dict]:
    """Rows `start`..`stop`; the same rows on every run (the noise is seeded by `start`), so a build resumes."""
    from semsearch.chunking import storage_key

    corpus = texts()
    positions = np.arange(start, stop)
    vectors = _near(positions % len(corpus), seed=start)
    return [
        {
            "id": storage_key(f"doc-{i // 4}", i % 4),
            "doc_id": f"doc-{i // 4}",
            "chunk_index": i % 4,
            "text": corpus[i % len(corpus)],
            "source": "bench",
            "char_start": 0,
            "char_end": len(corpus[i % len(corpus)]),
            "content_hash": "bench",
            "metadata": {"format": ("md", "txt", "html")[i % 3]},
            "embedding": vector.tolist(),
        }
        for i, vector in zip(positions.tolist(), vectors, strict=True)
    ]


def batches(start: int, stop: int, size: int = BUILD_BATCH) -> Iterator[list[dict]]:
    for first in range(start, stop, size):
        yield chunk_rows(first, min(first + size, stop))


def recall_queries(n: int, seed: int = 1_000_003) -> np.ndarray:
    """`n` query vectors near real rows: paragraph embeddings plus fresh noise (seeded apart from every build)."""
    indices = np.random.default_rng(seed).integers(0, len(texts()), n)
    return _near(indices, seed)


def exact_top(n: int, queries: np.ndarray, k: int = 10) -> list[set[int]]:
    """Row numbers of the exact top `k` by inner product among rows 0..`n`: the ground truth for recall@k,
    computed batch by batch over the same vectors the build wrote."""
    best = np.full((len(queries), k), -np.inf, dtype=np.float32)
    rows = np.zeros((len(queries), k), dtype=np.int64)
    corpus = len(texts())
    for first in range(0, n, BUILD_BATCH):
        positions = np.arange(first, min(first + BUILD_BATCH, n))
        scores = queries @ _near(positions % corpus, seed=first).T
        all_scores = np.concatenate([best, scores], axis=1)
        all_rows = np.concatenate([rows, np.broadcast_to(positions, scores.shape)], axis=1)
        keep = np.argpartition(-all_scores, k, axis=1)[:, :k]
        best = np.take_along_axis(all_scores, keep, axis=1)
        rows = np.take_along_axis(all_rows, keep, axis=1)
    return [set(row.tolist()) for row in rows]


def row_number(doc_id: str, chunk_index: int) -> int:
    """The row a hit came from (`doc-{i // 4}`, chunk `i % 4`)."""
    return 4 * int(doc_id.removeprefix("doc-")) + chunk_index
