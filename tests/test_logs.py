"""What a deployer sees in the logs: one setup for every door, start-up and first-run export progress, one access
line per request with its id, errors under their id, and none of the libraries' noise."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from semsearch.logs import JsonFormatter, LibraryNoise, configure_logging, request_id_var
from semsearch.settings import Settings
from tests.helpers import semsearch_server


def _records(log: Path) -> list[dict]:
    """The server's JSON lines (anything else on stderr would be a line a log collector cannot parse)."""
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    not_json = [line for line in lines if not line.startswith("{")]
    assert not not_json, f"non-JSON lines in a JSON log: {not_json}"
    return [json.loads(line) for line in lines]


def test_a_first_start_logs_its_progress_and_every_request_as_json(tmp_path: Path) -> None:
    """A fresh model cache: the ONNX export and quantisation are announced (not silent), onnxruntime's advice to
    pre-process is not shown, and each request is one access line carrying its id, route, status and duration."""
    log = tmp_path / "server.log"
    env = {
        "SEMSEARCH_MILVUS_URI": str(tmp_path / "logs.db"),
        "SEMSEARCH_COLLECTION": "logs",
        "SEMSEARCH_MODEL_CACHE": str(tmp_path / "fresh-cache"),
        "SEMSEARCH_LOG_FORMAT": "json",
    }
    with semsearch_server("serve", cwd=tmp_path, env=env, log_to=log, timeout=300) as base:
        doc = {"id": "otters", "text": "Otters hold hands while they sleep."}
        httpx.post(f"{base}/documents", json={"documents": [doc]}, timeout=60).raise_for_status()
        ok = httpx.post(f"{base}/search", json={"query": "otters"}, headers={"x-request-id": "find-me-1"}, timeout=30)
        bad = httpx.post(f"{base}/search", json={"query": "otters", "filter": {"colour": "red"}}, timeout=30)
    assert (ok.status_code, bad.status_code) == (200, 400)
    records = _records(log)
    messages = " | ".join(r["message"] for r in records)
    for progress in ("connecting to Milvus", "exporting", "quantising", "collection 'logs' open", "Uvicorn running"):
        assert progress in messages
    assert "pre-processing" not in messages and "Fused" not in messages
    [access] = [r for r in records if r["logger"] == "search_api.access" and r.get("request_id") == "find-me-1"]
    assert access["route"] == "/search" and access["status"] == 200 and access["method"] == "POST"
    assert access["duration_ms"] >= 0
    refused = bad.headers["x-request-id"]
    about_refused = [r for r in records if r.get("request_id") == refused]
    assert {r["logger"] for r in about_refused} == {"search_api", "search_api.access"}
    [error] = [r for r in about_refused if r["logger"] == "search_api"]
    assert "colour" in error["message"]
    assert not [r for r in records if r["logger"].startswith("uvicorn.access")]


def test_text_logs_are_one_line_each_and_the_level_comes_from_settings(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(log_level="WARNING", _env_file=None)  # as Python spells it
    configure_logging(settings.log_level, settings.log_format)
    try:
        logging.getLogger("semsearch.test").info("hidden below the level")
        logging.getLogger("semsearch.test").warning("shown")
        err = capsys.readouterr().err
        assert "hidden" not in err and "WARNING semsearch.test: shown" in err
    finally:
        configure_logging()
    assert sum(1 for h in logging.getLogger().handlers if type(h).__name__ == "_OurHandler") == 1


def test_onnxruntime_quantiser_advice_is_dropped_but_its_errors_kept() -> None:
    quantiser = "/venv/site-packages/onnxruntime/quantization/quantize.py".replace("/", os.sep)

    def record(level: int, path: str) -> logging.LogRecord:
        return logging.LogRecord("root", level, path, 1, "Please consider to run pre-processing", None, None)

    noise = LibraryNoise()
    assert not noise.filter(record(logging.WARNING, quantiser))
    assert noise.filter(record(logging.ERROR, quantiser))
    assert noise.filter(record(logging.WARNING, "/app/semsearch/backends.py"))


def test_a_json_line_carries_the_request_id_and_the_records_extras() -> None:
    token = request_id_var.set("abc123")
    try:
        line = JsonFormatter().format(
            logging.makeLogRecord({"name": "search_api.access", "levelname": "INFO", "msg": "x", "status": 204})
        )
    finally:
        request_id_var.reset(token)
    assert json.loads(line) | {"time": None} == {
        "time": None,
        "level": "info",
        "logger": "search_api.access",
        "message": "x",
        "request_id": "abc123",
        "status": 204,
    }


@pytest.mark.parametrize(("given", "seen"), [(None, "NONE"), ("ERROR", "ERROR")])
def test_grpc_core_is_quiet_unless_the_user_chose_its_verbosity(given: str | None, seen: str) -> None:
    """gRPC reads GRPC_VERBOSITY when it is first imported, so it must be set before pymilvus loads it."""
    env = {k: v for k, v in os.environ.items() if k != "GRPC_VERBOSITY"} | ({"GRPC_VERBOSITY": given} if given else {})
    probe = "import os, sys; import semsearch; assert 'grpc' in sys.modules; print(os.environ['GRPC_VERBOSITY'])"
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == seen, result.stderr


def test_log_lines_go_to_the_stderr_of_the_moment_even_after_the_first_one_was_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A harness that swaps stderr (pytest's capsys, an app embedding the engine) closes the old stream; a handler
    bound to it lost every later line, request logs from other threads included, with a 'Logging error'."""
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("info")
    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)

    logging.getLogger("semsearch.test").info("after the swap")

    assert "semsearch.test: after the swap" in second.getvalue()
    assert "Logging error" not in second.getvalue()
