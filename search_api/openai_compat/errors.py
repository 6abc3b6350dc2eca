"""OpenAI's error shape on the `/v1` routes: `{"error": {"message", "type", "param", "code"}}`.

The `openai` client reads `error.message` into the exception it raises, and picks the exception by status (400
BadRequestError, 401 AuthenticationError, 404 NotFoundError, ...). The `/v1` error bodies keep this product's
`detail` and `request_id` beside `error`, so one body serves both kinds of client. On the vector store and file
routes a request the schema refuses is a 400 (OpenAI's status for it) naming the parameter; `/v1/embeddings` keeps
its 422.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

OPENAI_PATH = re.compile(r"^/v1/")
#: The routes that answer schema problems with 400, as OpenAI does.
BAD_REQUEST_PATH = re.compile(r"^/v1/(files|vector_stores)(/|$)")

TYPES = {401: "invalid_request_error", 403: "permission_error", 429: "rate_limit_error"}
CODES = {401: "invalid_api_key", 404: "not_found", 413: "file_too_large", 415: "unsupported_media_type"}


def is_openai_path(path: str) -> bool:
    return OPENAI_PATH.match(path) is not None


def refuses_with_400(path: str) -> bool:
    return BAD_REQUEST_PATH.match(path) is not None


def openai_error(status: int, detail: Any, param: str | None = None) -> dict[str, Any]:
    """The `error` object for an answer of `status` whose message is `detail` (a list of schema problems is told as
    one sentence, naming the first problem's parameter)."""
    message = detail
    if isinstance(detail, list):
        message, param = problems_message(detail)
    kind = TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"message": str(message), "type": kind, "param": param, "code": CODES.get(status)}


def problems_message(problems: list[Any]) -> tuple[str, str | None]:
    """FastAPI's schema problems as one message, and the first one's parameter (`max_num_results`, `query`)."""
    parts, param = [], None
    for problem in problems:
        if not isinstance(problem, dict):
            parts.append(str(problem))
            continue
        where = ".".join(str(part) for part in problem.get("loc", ())[1:]) or "body"
        param = param or where
        parts.append(f"{where}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request", param


class OpenAIError(BaseModel):
    message: str
    type: str = Field(..., description="invalid_request_error, permission_error, server_error, ...")
    param: str | None = None
    code: str | None = None


class OpenAIErrorResponse(BaseModel):
    """OpenAI's error shape (`error`), with this product's `detail` and `request_id` beside it."""

    error: OpenAIError
    detail: Any = Field(..., description="The message again, as every route of this API answers it.")
    request_id: str


def _errors(**described: str) -> dict[int | str, dict[str, Any]]:
    return {int(status[1:]): {"model": OpenAIErrorResponse, "description": text} for status, text in described.items()}


#: The errors every vector store and file route may answer.
OPENAI_ERRORS = _errors(
    s400="A parameter refused (its name in `error.param`)",
    s404="No such file, vector store or batch",
    s413="Body over the size limit",
    s415="The body is not JSON (multipart for `POST /v1/files`)",
    s503="Milvus or the model is unavailable, or the upload queue is full",
)
