"""Who may do what to which collection: the one seam every request's authorization passes through.

`ApiKeyGuard` (search_api/guards.py) names the caller (`Principal`) from the bearer key and refuses what today's
two keys may not do; `deps.get_engine` and the collection routes then ask `authorize(principal, collection,
action)` for the collection the request names. Today every principal the guard lets through is allowed everywhere
(the admin key, the read key on read paths, anyone when no key is set); keys scoped to collections and tenants
extend `Principal` and this function, and nothing else has to change.

Paths under `/collections/{name}/...` are the unprefixed routes for that collection: `split_collection` says which
collection and which route a path means, for the guard's path rules as for the routes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from fastapi import Request

#: `/collections/{name}` and what follows it (the route for that collection).
COLLECTION_PATH = re.compile(r"^/collections/(?P<name>[^/]+)(?P<rest>/.*)?$")


class Action(StrEnum):
    READ = "read"  # search, context, embeddings, status
    WRITE = "write"  # add, delete documents
    ADMIN = "admin"  # create and drop collections


@dataclass(frozen=True)
class Principal:
    """The caller as the guard knows it: `admin` (SEMSEARCH_API_KEY), `read` (SEMSEARCH_READ_API_KEY) or
    `anyone` (no key is configured, so the API is open)."""

    role: str


ANYONE = Principal("anyone")


class AccessDenied(Exception):
    """The principal may not do this: `status` 403 (it may see the collection) or 404 (it may not know of it)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def authorize(principal: Principal, collection: str, action: Action) -> None:
    """Return if `principal` may do `action` on `collection`; raise AccessDenied otherwise. The guard has already
    refused what the admin and read keys may not do, so this allows everything it let through."""
    if principal.role == "read" and action is not Action.READ:
        raise AccessDenied(403, "this path needs the admin key (SEMSEARCH_API_KEY); the read key only searches")


def principal_of(request: Request) -> Principal:
    """The principal the guard named for this request (ANYONE when no key is configured)."""
    return request.scope.get("state", {}).get("principal", ANYONE)


def split_collection(path: str) -> tuple[str | None, str]:
    """(collection, route path) for `path`: `/collections/hr/search` is ("hr", "/search"); `/search` is
    (None, "/search"); the collection resources themselves (`/collections`, `/collections/hr`) are (None, path)."""
    match = COLLECTION_PATH.match(path)
    if match is None or not match["rest"]:
        return None, path
    return match["name"], match["rest"]
