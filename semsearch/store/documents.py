"""Document-level reads over the chunk collection: list documents by source prefix or filter, a page at a time,
count them, and find stored vectors by content hash.

A document is the set of its chunks; its chunk 0 stands for it (every stored document has one: chunks are written
in index order, and a document always has at least one). Listing reads those rows only, so listing 100k documents
reads 100k rows in pages of `SCAN_PAGE`, not every chunk in one query.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from semsearch.filters import string_literal
from semsearch.store.collections import STATE_CONSISTENCY

if TYPE_CHECKING:
    from semsearch.store.chunks import ChunkCollection

#: Fields of a document's head row (its chunk 0) that listing returns.
HEAD_FIELDS = ["id", "doc_id", "source", "metadata"]
#: content hashes per `in [...]` expression when looking for reusable vectors.
HASH_BATCH = 200


def prefix_expr(field: str, prefix: str) -> str:
    """`field` starts with `prefix`, as a range over strings: exact for any characters (no LIKE wildcards to escape)
    and the same on Milvus Lite and a server. '' for an empty prefix (everything)."""
    if not prefix:
        return ""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return f"{field} >= {string_literal(prefix)} and {field} < {string_literal(upper)}"


def both(*exprs: str) -> str:
    """The conjunction of the non-empty expressions ('' when none)."""
    return " and ".join(f"({e})" for e in exprs if e)


class DocumentReads:
    """Mixed into `ChunkCollection`: the reads behind `semsearch list/show/status`, prune and vector reuse."""

    def document_heads(self: ChunkCollection, expr: str = "", fields: Sequence[str] = HEAD_FIELDS) -> Iterator[dict]:
        """One row per stored document matching `expr` (its chunk 0), in primary-key order, paged."""
        yield from self.scan(both("chunk_index == 0", expr), list(fields))

    def document_page(self: ChunkCollection, expr: str, after: str | None, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` document heads after the cursor `after` (the last head's primary key of the previous page):
        pages that stay correct while documents are added or removed between requests."""
        cursor = f"id > {string_literal(after)}" if after else ""
        rows = self.milvus.write(
            "query",
            self.target,
            filter=both("chunk_index == 0", expr, cursor),
            output_fields=HEAD_FIELDS,
            limit=limit,
            consistency_level=STATE_CONSISTENCY,
            what=f"listing of documents in {self.target!r}",
        )
        return sorted(rows, key=lambda row: row["id"])

    def chunk_counts(self: ChunkCollection, doc_ids: Sequence[str]) -> Counter[str]:
        """Chunks stored per document."""
        return Counter(row["doc_id"] for row in self.chunks_of(doc_ids, ["doc_id"]))

    def count_where(self: ChunkCollection, expr: str) -> int:
        """Rows matching `expr`; with `chunk_index == 0` in it, documents."""
        rows = self.milvus.read(
            "query", self.target, filter=expr, output_fields=["count(*)"], consistency_level=STATE_CONSISTENCY
        )
        return int(rows[0]["count(*)"])

    def vectors_by_hash(self: ChunkCollection, hashes: Sequence[str]) -> dict[str, list[float]]:
        """A stored vector for each of these content hashes that some chunk already has (the hash covers the text
        and the model id, so the vector is the one the model would make): a renamed file re-embeds nothing."""
        owners: dict[str, str] = {}  # content hash -> a chunk id holding it
        unique = sorted(set(hashes))
        for start in range(0, len(unique), HASH_BATCH):
            batch = unique[start : start + HASH_BATCH]
            expr = f"content_hash in [{', '.join(string_literal(h) for h in batch)}]"
            for row in self.scan(expr, ["content_hash"]):
                owners.setdefault(row["content_hash"], row["id"])
        # Vectors by primary key, only for hashes found: Milvus Lite cannot return vectors from a filtered scan of
        # a growing segment ("Growing segment loss raw data"), and a fresh ingest finds none, so it reads none.
        vectors = self.vectors(list(owners.values())) if owners else {}
        return {h: vectors[chunk] for h, chunk in owners.items() if chunk in vectors}
