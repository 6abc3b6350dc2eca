"""The one logging setup of every door (CLI, `semsearch serve`, the app), and the libraries' levels.

The doors report failures themselves, once, in their own words, so the libraries' own failure logging is silenced.
What remains is ours: start-up and model-export progress, one access line per HTTP request, errors under their
request id. `SEMSEARCH_LOG_LEVEL` and `SEMSEARCH_LOG_FORMAT` (`text` for people, `json`: one object per line for a log
collector) choose how much and in which shape; everything goes to stderr, so a command's stdout stays its answer.
The library (`semsearch.open`) configures nothing: an application that imports it owns its logging.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextvars import ContextVar
from typing import Any, Literal

from semsearch.store import MILVUS_LOGGERS

#: Libraries that log every failed call with a traceback (the Milvus client) or chatter at start-up.
NOISY_LIBRARIES = (*MILVUS_LOGGERS, "transformers", "sentence_transformers", "pypdf")
#: HTTP clients that log every request at INFO (`--api`, the LangChain client): the doors report failures themselves.
CHATTY_CLIENTS = ("httpx", "httpcore")

LogFormat = Literal["text", "json"]

#: The id of the HTTP request being served ("-" outside one): set by the API's outermost middleware, read by the
#: JSON formatter, so every line logged while serving a request can be found by the id the client was given.
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

#: Attributes every LogRecord has; anything else on a record came from `extra=` and goes into the JSON object.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName", "color_message"}
_TEXT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, the record's extras, the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid != "-":
            entry["request_id"] = rid
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class LibraryNoise(logging.Filter):
    """Drops onnxruntime's notes, meant for its own users rather than ours: its quantiser logs "Please consider to
    run pre-processing before quantization" on the root logger every time we quantise (the graph is one ONNX
    Runtime fused itself; pre-processing would change nothing), and its fusion tools log a dozen "Fused ..." lines
    under generic logger names. Our own lines say what is happening (exporting, quantising); its errors stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        from_onnxruntime = f"{os.sep}onnxruntime{os.sep}" in record.pathname
        return not (from_onnxruntime and record.levelno < logging.ERROR)


class _OurHandler(logging.StreamHandler):
    """Marks the handler this module installed, so a second setup replaces it instead of doubling every line.

    It writes to whatever `sys.stderr` is when a record is emitted, not the stream of the moment it was set up: a
    harness that swaps stderr (pytest's `capsys`, an embedding app) closes the old one, and every later line, a
    request log from another thread included, was lost with a "Logging error" traceback."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        """StreamHandler sets its stream; this handler has none of its own."""


def configure_logging(level: str = "info", fmt: LogFormat = "text") -> None:
    """Send every logger's records at `level` and above to stderr in `fmt`; idempotent. The doors call it with
    `Settings.log_level` and `Settings.log_format` (the defaults live there)."""
    quiet_libraries()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(handler)
    handler = _OurHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT, "%H:%M:%S"))
    handler.addFilter(LibraryNoise())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):  # uvicorn.run(log_config=None) leaves its loggers to us
        logging.getLogger(name).setLevel(logging.NOTSET)


def quiet_libraries() -> None:
    """Silence the libraries' own logging: a Milvus failure reaches the user as one message from the door. (gRPC's
    C core is quietened where it is first imported: semsearch/store/__init__.py.)"""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    for name in CHATTY_CLIENTS:
        logging.getLogger(name).setLevel(logging.WARNING)
