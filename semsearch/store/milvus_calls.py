"""How the store calls pymilvus, and the one place where pymilvus's and gRPC's exceptions become engine errors.

Serving calls (search, readiness, the alias follower's check) fail fast; write-path calls (ingest, reindex, load)
retry with backoff through a restart. Every call the store makes goes through `Connection.read` or
`Connection.write`, so nothing from pymilvus or gRPC leaves the store:

- Milvus unreachable, or a call past its deadline -> `BackendUnavailable`, saying what timed out and which setting
  raises the limit;
- data Milvus refuses as given (e.g. a metadata integer beyond 64 bits) -> `DocumentRejected`;
- any other error Milvus answers with -> `MilvusFailed`, carrying Milvus's message.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

with warnings.catch_warnings():  # milvus-lite 2.5 imports the deprecated pkg_resources
    warnings.simplefilter("ignore", UserWarning)
    from pymilvus import MilvusClient, MilvusException
    from pymilvus.exceptions import DataNotMatchException

from semsearch.errors import BackendUnavailable, DocumentRejected, MilvusFailed, SemsearchError
from semsearch.settings import Settings
from semsearch.store.capabilities import Capabilities, detect
from semsearch.store.lite import server_log

log = logging.getLogger("semsearch.store")

#: What a pymilvus call may raise: its own exceptions, and gRPC's, which it lets through for deadlines and
#: refused calls (`grpc.FutureTimeoutError` while connecting).
MILVUS_ERRORS = (MilvusException, grpc.RpcError, grpc.FutureTimeoutError)
#: How long a Milvus Lite .db may take to start answering on its socket. Its server is a subprocess that loads a
#: 100 MB binary and the .db's segments before it listens: on a busy machine (load average 10 on 2 cores) that took
#: longer than one connection timeout, and the open failed although the server came up seconds later.
LITE_START_SECONDS = 120.0
#: Longest pause between two attempts of a retried write.
MAX_BACKOFF = 8.0
#: Messages of a Milvus that is up but still recovering (after a restart): worth another attempt.
RECOVERING = (
    "not loaded",
    "not ready",
    "not healthy",
    "unhealthy",
    "no available",
    "channel",
    "node not found",
    "server is closed",
    "retry timeout",
    "timeout",
    "abnormal",
    "stopping",
    "not serviceable",
)


@dataclass(frozen=True)
class CallPolicy:
    """Seconds per write-path call and per serving-path call, and the write retry budget; from Settings only.

    `read_setting` names the setting behind `read_timeout`, for the message of a serving call that ran out of time.
    """

    write_timeout: float
    read_timeout: float
    retry_seconds: float
    read_setting: str

    @classmethod
    def from_settings(cls, settings: Settings) -> CallPolicy:
        # Milvus Lite runs embedded, beside this process: a slow call there is CPU load, not a dead server.
        lite = settings.is_lite
        return cls(
            write_timeout=settings.milvus_timeout,
            read_timeout=settings.milvus_timeout if lite else settings.milvus_read_timeout,
            retry_seconds=settings.write_retry_seconds,
            read_setting="SEMSEARCH_MILVUS_TIMEOUT" if lite else "SEMSEARCH_MILVUS_READ_TIMEOUT",
        )


@dataclass
class Connection:
    """One pymilvus client, what its Milvus can do, and the policy every call through it follows.

    Calls name the client's method (`read("search", ...)`), so that this class alone holds the client's methods.
    `client` itself is for what makes no call to Milvus (`prepare_index_params`), and for tests that look behind
    the store's back.
    """

    client: MilvusClient
    capabilities: Capabilities
    policy: CallPolicy
    #: Set by `close`: a retried write still running in another thread (a load) then stops retrying.
    closed: bool = False

    @classmethod
    def open(cls, settings: Settings) -> Connection:
        """Connect and detect the capabilities; BackendUnavailable if that fails."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                client = _client(settings)
            capabilities = detect(client, settings.is_lite, settings.milvus_timeout)
        except MILVUS_ERRORS as exc:
            message = f"cannot open Milvus at {settings.milvus_uri}: {milvus_message(exc)}"
            if settings.is_lite:  # the embedded server's own words are in its log, not on our stderr
                message += f" (Milvus Lite's output: {server_log(Path(settings.milvus_uri).expanduser().resolve())})"
            raise BackendUnavailable(message) from exc
        return cls(client=client, capabilities=capabilities, policy=CallPolicy.from_settings(settings))

    def close(self) -> None:
        self.closed = True
        self.client.close()

    def read(self, method: str, *args: Any, what: str = "", **kwargs: Any) -> Any:
        """A serving-path call (search, readiness): `read_timeout` bounds it, pymilvus's own retries included, and
        it is never retried here, so that a dead Milvus turns into a prompt 503 rather than a hanging request."""
        timeout = self.policy.read_timeout
        try:
            return getattr(self.client, method)(*args, timeout=timeout, **kwargs)
        except MILVUS_ERRORS as exc:
            raise engine_error(exc, what or _call_name(method, args), timeout, self.policy.read_setting) from exc

    def write(
        self,
        method: str,
        *args: Any,
        what: str,
        unfinished: str = "it was not stored",
        bounded: bool = True,
        retry: bool = True,
        **kwargs: Any,
    ) -> Any:
        """A write-path call (ingest, reindex, load): retried with exponential backoff while Milvus is unreachable
        or recovering (a restart), for up to `retry_seconds`. Every retried call is idempotent (upserts by primary
        key, deletes, reads, a load). A call that still fails raises BackendUnavailable saying `what` failed and
        what is therefore `unfinished`.

        `bounded=False` drops the per-attempt deadline, for a call whose legitimate length grows with the
        collection (a load): whoever makes it watches it with short reads instead (`store.loading`). `retry=False`
        makes one attempt, for a call that is not idempotent (an insert): its caller decides what a failure means."""
        policy, fn = self.policy, getattr(self.client, method)
        timeout = policy.write_timeout if bounded else None
        started = time.monotonic()
        delay, attempt = 0.5, 0
        while True:
            attempt += 1
            try:
                return fn(*args, timeout=timeout, **kwargs)
            except MILVUS_ERRORS as exc:
                error = engine_error(exc, what, policy.write_timeout, "SEMSEARCH_MILVUS_TIMEOUT")
                elapsed = time.monotonic() - started
                if not retry or not is_transient(exc) or self.closed:
                    raise error from exc
                if elapsed + delay > policy.retry_seconds:
                    raise BackendUnavailable(
                        f"{what} failed after {attempt} attempts over {elapsed:.0f} s, so {unfinished}: {error}"
                    ) from exc
                log.warning("%s failed (attempt %d), retrying in %.1f s: %s", what, attempt, delay, error)
                time.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)


def _client(settings: Settings) -> MilvusClient:
    """A connected client. A server URI gets one attempt of `milvus_timeout`; a Lite .db is retried while its
    server starts (LITE_START_SECONDS): refusing the connection then means busy, not gone."""
    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    deadline = time.monotonic() + LITE_START_SECONDS
    while True:
        try:
            return MilvusClient(uri=settings.milvus_uri, token=token, timeout=settings.milvus_timeout)
        except MilvusException as exc:
            if not settings.is_lite or "Fail connecting" not in str(exc) or time.monotonic() > deadline:
                raise
            log.info("Milvus Lite at %s is still starting; connecting again", settings.milvus_uri)
            time.sleep(1.0)


def engine_error(exc: BaseException, what: str, timeout: float, setting: str) -> SemsearchError:
    """The engine error for an exception out of pymilvus: the store raises nothing else."""
    message = milvus_message(exc)
    if isinstance(exc, DataNotMatchException):
        return DocumentRejected(f"Milvus refused the {what}: {message}")
    if is_connection_error(exc):
        return BackendUnavailable(f"Milvus is not reachable: {message}")
    if is_deadline(exc):
        return BackendUnavailable(
            f"Milvus did not finish {what} within {timeout:g} s; a larger {setting} (seconds) raises the limit "
            f"({message})"
        )
    return MilvusFailed(f"Milvus failed {what}: {message}")


def milvus_message(exc: BaseException) -> str:
    if isinstance(exc, MilvusException):
        return str(exc.message)
    if isinstance(exc, grpc.FutureTimeoutError):
        return "connecting timed out"
    if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
        return f"{exc.code().name}: {exc.details()}"
    return str(exc)


def is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
        return exc.code() == grpc.StatusCode.UNAVAILABLE
    text = milvus_message(exc).lower()
    return any(word in text for word in ("unavailable", "connect", "closed channel", "fail connecting"))


def is_deadline(exc: BaseException) -> bool:
    """A call that ran out of time: gRPC's DEADLINE_EXCEEDED, or pymilvus's own "Retry timeout" / "wait for
    loading collection timeout" once its retries or its wait for a load used up the call's `timeout`."""
    if isinstance(exc, grpc.FutureTimeoutError):
        return True
    if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
        return exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    text = milvus_message(exc).lower()
    return "timeout" in text or "deadline" in text


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DataNotMatchException):
        return False
    if is_connection_error(exc) or is_deadline(exc):
        return True
    text = milvus_message(exc).lower()
    return any(word in text for word in RECOVERING)


def _call_name(method: str, args: tuple[Any, ...]) -> str:
    """`search 'docs__minilm'`: the call and the collection it named, for messages."""
    return f"{method} {args[0]!r}" if args and isinstance(args[0], str) else method
