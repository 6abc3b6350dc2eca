"""A real uvicorn server in a thread of the test process, for clients that need a TCP URL (openai, a browser, MCP).

In-process because Milvus Lite lets one process open a `.db`: the server shares the session's `sample_engine`
(lent to the app with `tests.helpers.borrow_engine`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from tests.helpers import free_port


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """Run `app` under uvicorn on a free loopback port; yields the base URL once it accepts requests."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
