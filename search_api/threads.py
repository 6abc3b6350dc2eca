"""Where the hot routes' blocking work runs: a plain `ThreadPoolExecutor`, not FastAPI's (anyio's) thread pool.

`/search` and `/context` block on the model and on Milvus, so they cannot run on the event loop. A plain `def` route
goes through anyio's `to_thread.run_sync`, whose hand-off (a cancel scope, a `queue.Queue` with its Condition, a
capacity limiter) held the GIL for a tenth of the server's Python time with 16 clients on two cores
(`benchmarks/serving.py --profile F --gil`, docs/benchmarks/throughput.md). `run_in_executor` hands work over
through a C-level `SimpleQueue` and answers through the loop's self-pipe. The request's context variables (its id,
for the logs) go along, as anyio would carry them.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

#: As many as anyio's default limiter: requests waiting on Milvus or the model each hold a thread.
WORKERS = 40
_POOL = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="request")


async def run_blocking(call: Callable[[], T]) -> T:
    """`call()` on a worker thread, in this request's context; the event loop serves other requests meanwhile."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_POOL, context.run, call)
