"""Who may do what to which collection: the one seam every request's authorization passes through.

`ApiKeyGuard` (search_api/guards.py) names the caller (`semsearch.scoped_keys.Principal`) from the bearer key and
refuses what the admin and read keys may not do; `deps.get_engine` and the collection routes then ask
`authorize(principal, collection, action)` for the collection the request names: a scoped key (`semsearch keys
create`) only on its collections (404 elsewhere) and for its access (403). The tenant a request names is checked
against the key's where the route reads it (`search_api.scopes`).

Paths under `/collections/{name}/...` are the unprefixed routes for that collection: `split_collection` says which
collection and which route a path means, for the guard's path rules as for the routes.
"""

from __future__ import annotations

import re
from enum import StrEnum

from fastapi import Request

from semsearch.errors import CollectionNotFound, Forbidden
from semsearch.scoped_keys import ANYONE, Principal

#: `/collections/{name}` and what follows it (the route for that collection).
COLLECTION_PATH = re.compile(r"^/collections/(?P<name>[^/]+)(?P<rest>/.*)?$")


class Action(StrEnum):
    READ = "read"  # search, context, embeddings, status
    WRITE = "write"  # add, delete documents
    ADMIN = "admin"  # create and drop collections


class AccessDenied(Exception):
    """The principal may not do this: `status` 403 (it may see the collection) or 404 (it may not know of it)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def authorize(principal: Principal, collection: str, action: Action) -> None:
    """Return if `principal` may do `action` on `collection`; raise AccessDenied otherwise: 404 for a collection
    outside a scoped key's collections (it may not know it exists), 403 for an action its access does not allow
    (`Principal.check`). A tenant is checked where the request names it (`search_api.scopes`)."""
    if principal.name == "read" and action is not Action.READ:
        raise AccessDenied(403, "this path needs the admin key (SEMSEARCH_API_KEY); the read key only searches")
    try:
        principal.check(collection, action.value)
    except CollectionNotFound as exc:
        raise AccessDenied(404, str(exc)) from exc
    except Forbidden as exc:
        raise AccessDenied(403, str(exc)) from exc


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
