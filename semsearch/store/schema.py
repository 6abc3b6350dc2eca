"""The chunk collection's schema: one row per chunk, plus a record of the model that made its vectors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pymilvus import DataType, Function, FunctionType, MilvusClient
from pymilvus.milvus_client.index import IndexParams

from semsearch.store.indexes import BUILD_DEFAULTS, DenseIndex

ID_MAX = 1024
#: The chunk field of a multi-tenant collection that holds the row's tenant (`store.tenants`).
TENANT_FIELD = "tenant"
TENANT_MAX_LENGTH = 64
SOURCE_MAX = 2048
TEXT_MAX_BYTES = 65_535
VECTOR_FIELD = "embedding"
SPARSE_FIELD = "sparse"
#: What BM25 reads: the chunk's window of its document behind the title (`keyword_text`, `semsearch.keywords`). Not
#: returned by searches; ingest reads it back to notice a window that changed.
KEYWORD_FIELD = "keyword_text"
#: Longest title, in UTF-8 bytes, that keyword text repeats in front of each chunk.
TITLE_MAX_BYTES = 1024
#: Scalar fields returned with every hit.
OUTPUT_FIELDS = ["id", "doc_id", "chunk_index", "text", "source", "char_start", "char_end", "metadata"]
#: What ingest compares to decide whether a stored chunk is already up to date.
STATE_FIELDS = ["id", "doc_id", "content_hash", "source", "char_start", "char_end", "metadata"]


@dataclass(frozen=True)
class ModelRecord:
    """Stored in the collection description: which model made the vectors, their size, and the prompts put
    before queries and documents (None: recorded before prompts existed, so documents were embedded bare).

    `settings` are the rest of what the collection was created with (chunk size, keyword window, index, ...: the
    engine's `semsearch.collection_settings`), a JSON object the store keeps without reading it; None for
    collections made before collections recorded their settings."""

    model: str
    dim: int
    query_prompt: str | None = None
    document_prompt: str | None = None
    settings: dict[str, Any] | None = field(default=None, hash=False)

    def to_description(self) -> str:
        data: dict[str, Any] = {"semsearch": 1, "model": self.model, "dim": self.dim}
        if self.query_prompt is not None or self.document_prompt is not None:
            data["prompts"] = {"query": self.query_prompt or "", "document": self.document_prompt or ""}
        if self.settings is not None:
            data["settings"] = self.settings
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_description(cls, description: str) -> ModelRecord | None:
        try:
            data = json.loads(description)
            prompts = data.get("prompts")
            settings = data.get("settings")
            settings = dict(settings) if isinstance(settings, dict) else None
            if prompts is None:
                return cls(model=str(data["model"]), dim=int(data["dim"]), settings=settings)
            query, document = str(prompts["query"]), str(prompts["document"])
            return cls(str(data["model"]), int(data["dim"]), query, document, settings=settings)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def serves(self, other: ModelRecord) -> bool:
        """Whether vectors recorded here can be searched and extended with `other`'s model and prompts. A record
        from before prompts serves any query prompt, but only documents embedded without one, as it holds."""
        if (self.model, self.dim) != (other.model, other.dim):
            return False
        if self.document_prompt is None:
            return not other.document_prompt
        return (self.query_prompt, self.document_prompt) == (other.query_prompt or "", other.document_prompt or "")


def build_schema(dim: int, record: ModelRecord, bm25: bool, tenants: str | None = None):
    """Schema for chunks; with `bm25`, Milvus also fills a sparse BM25 vector from `keyword_text` for keyword
    search. (Collections made before `keyword_text` existed analyse `text` itself; the store still serves them.)
    `tenants` makes it multi-tenant (`store.tenants`): "partition_key" on a server, "field" on Milvus Lite, which
    takes a partition key in the schema but then refuses every filter on it."""
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False, description=record.to_description())
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=ID_MAX)
    if tenants is not None:
        schema.add_field(
            TENANT_FIELD, DataType.VARCHAR, max_length=TENANT_MAX_LENGTH, is_partition_key=tenants == "partition_key"
        )
    schema.add_field("doc_id", DataType.VARCHAR, max_length=ID_MAX)
    schema.add_field("chunk_index", DataType.INT64)
    schema.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX_BYTES)
    schema.add_field("source", DataType.VARCHAR, max_length=SOURCE_MAX)
    schema.add_field("char_start", DataType.INT64)
    schema.add_field("char_end", DataType.INT64)
    schema.add_field("content_hash", DataType.VARCHAR, max_length=64)
    schema.add_field("metadata", DataType.JSON)
    schema.add_field(VECTOR_FIELD, DataType.FLOAT_VECTOR, dim=dim)
    if bm25:
        # The English analyzer stems and drops stop words, so "running" finds "run" in keyword search.
        schema.add_field(
            KEYWORD_FIELD,
            DataType.VARCHAR,
            max_length=TEXT_MAX_BYTES,
            enable_analyzer=True,
            analyzer_params={"type": "english"},
        )
        schema.add_field(SPARSE_FIELD, DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(
            Function(
                name="text_bm25",
                function_type=FunctionType.BM25,
                input_field_names=[KEYWORD_FIELD],
                output_field_names=[SPARSE_FIELD],
            )
        )
    return schema


def keyword_text(text: str, title: Any, heading_path: Any = None) -> str:
    """What BM25 indexes for a chunk (or its window, `semsearch.keywords`): the text behind its document's title
    and its section's heading path, less what the text's first line already holds. The title says what the whole
    document is about, the headings what the section is about, and without them every chunk after the first loses
    those terms (the multi-field title + text BM25 of Anserini's BEIR baseline). The vector is still made from the
    chunk text alone, so a chunk's embedding does not change with its title or headings."""
    first_line = text.lstrip().split("\n", 1)[0].casefold()
    parts = [" ".join(p.split()) for p in (title, *_headings(heading_path)) if isinstance(p, str)]
    parts = [p for p in dict.fromkeys(parts) if p and p.casefold() not in first_line]
    title = " > ".join(parts)
    if not title:
        return text
    room = min(TITLE_MAX_BYTES, TEXT_MAX_BYTES - len(text.encode()) - 2)
    title = title.encode()[: max(room, 0)].decode(errors="ignore")
    return f"{title}\n\n{text}" if title else text


def _headings(heading_path: Any) -> list[str]:
    return heading_path.split(" > ") if isinstance(heading_path, str) else []


#: Metric of the dense index in new collections. Vectors are unit length (`Embedder`), so inner product is their
#: cosine; Milvus Lite's brute-force search takes 5.3 ms with IP against 7.2 ms with COSINE on 20k x 384
#: (`benchmarks/milvus_search.py`). Collections built with COSINE keep it: the store reads the metric back.
DENSE_METRIC = "IP"


def build_index_params(
    client: MilvusClient, dense: DenseIndex | str, bm25: bool, metric: str = DENSE_METRIC
) -> IndexParams:
    """The indexes of a new chunk collection: `dense` (a type name alone gets that type's default parameters) on
    the vectors, and BM25's inverted index on the sparse field."""
    if isinstance(dense, str):
        dense = DenseIndex(dense, BUILD_DEFAULTS.get(dense, {}))
    params = client.prepare_index_params()
    params.add_index(field_name=VECTOR_FIELD, index_type=dense.type, metric_type=metric, params=dict(dense.build))
    if bm25:
        params.add_index(field_name=SPARSE_FIELD, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    return params


def keys_collection(collection: str) -> str:
    """Companion collection listing the metadata keys seen at ingest, so filters can reject unknown fields."""
    return f"{collection}__keys"


def build_keys_schema():
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=256)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)  # Milvus needs one vector field per collection
    return schema
