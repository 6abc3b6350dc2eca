"""Tenants inside one chunk collection: the store, not its callers, keeps each tenant's chunks apart.

A multi-tenant collection has a `tenant` field (on a Milvus server its partition key, so a tenant's search reads its
own partition; Milvus Lite has no partitions, so there it is a plain field). Every call the store makes on such a
collection goes through a `TenantConnection`, which is the one place isolation is decided:

- every query, search, count and delete gets `tenant == "<t>" and (<the caller's filter>)`, so no filter, `$or`,
  offset, grouping or export can reach past it (the caller's filter is parenthesised whole);
- every written row gets the tenant, and its primary key is key-spaced (`<t>/<key>`): two tenants' documents with the
  same id are two rows, and one tenant's upsert or delete by id can never touch another's;
- a call it does not know on the chunk collection is refused, so a new store verb cannot bypass it by accident;
- without a tenant (`tenant=None`) every data call is refused (`TenantRequired`).

The primary keys the engine sees stay the plain `storage_key`s: ids are key-spaced on the way in (rows written, `id`
literals in filters) and stripped on the way out (rows read), so the indexer, paging and export work unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from semsearch.errors import BackendUnavailable, InvalidTenant, TenantRequired
from semsearch.filters import string_literal
from semsearch.store.milvus_calls import Connection
from semsearch.store.schema import TENANT_FIELD

#: What a tenant name may be: it becomes part of primary keys (`<tenant>/<key>`) and of filter literals.
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,63}$"
TENANT_RULE = "1 to 64 letters, digits, '_', '-' or '.', starting with a letter or digit"
_TENANT = re.compile(TENANT_PATTERN)

#: Calls that read or write rows: scoped to the tenant.
_READS = frozenset({"query", "search"})
_WRITES = frozenset({"insert", "upsert"})
#: Calls about a collection as a whole (its schema, index, load state, name): passed through as they are.
_WHOLE = frozenset(
    {
        "has_collection",
        "describe_collection",
        "list_indexes",
        "describe_index",
        "get_load_state",
        "get_collection_stats",
        "load_collection",
        "release_collection",
        "flush",
        "create_collection",
        "create_index",
        "drop_collection",
        "rename_collection",
        "create_alias",
        "alter_alias",
        "describe_alias",
        "list_aliases",
        "list_collections",
    }
)

_LITERAL = r'"(?:[^"\\]|\\.)*"'
#: One token of an expression: a string literal (skipped whole: `metadata["id"]` names no `id`), a word, or a char.
_TOKEN = re.compile(rf"{_LITERAL}|'(?:[^'\\]|\\.)*'|[A-Za-z_][A-Za-z0-9_]*|.", re.S)
#: What follows the primary key `id` in the expressions the store writes: a comparison with one literal or a list.
_ID_TERM = re.compile(
    rf"\s*(?:not\s+in|in|==|!=|>=|<=|>|<)\s*(\[\s*{_LITERAL}(?:\s*,\s*{_LITERAL})*\s*\]|{_LITERAL})", re.S
)


def check_tenant(tenant: str) -> str:
    """`tenant` if it can be a tenant's name, else InvalidTenant with the rule."""
    if not isinstance(tenant, str) or not _TENANT.fullmatch(tenant):
        raise InvalidTenant(f"tenant {tenant!r} is not a valid tenant name: {TENANT_RULE}")
    return tenant


def key_prefix(tenant: str) -> str:
    """What a tenant's primary keys start with; '/' cannot occur in a tenant's name, so no prefix holds another."""
    return f"{check_tenant(tenant)}/"


def tenant_expr(tenant: str) -> str:
    return f'{TENANT_FIELD} == "{check_tenant(tenant)}"'  # the name has no quote or backslash (TENANT_PATTERN)


def key_ids(expr: str, prefix: str) -> str:
    """`expr` with every literal compared with the primary key `id` key-spaced by `prefix`. Raises ValueError for
    a use of `id` it does not recognise, rather than let an unscoped key through."""
    out: list[str] = []
    pos = 0
    while pos < len(expr):
        token = _TOKEN.match(expr, pos)
        assert token is not None  # `.` matches any character
        if token.group() != "id":
            out.append(token.group())
            pos = token.end()
            continue
        term = _ID_TERM.match(expr, token.end())
        if term is None:
            raise ValueError(f"the tenant scope cannot key-space this use of the primary key: {expr!r}")
        out.append(expr[pos : term.start(1)])
        out.append(re.sub(_LITERAL, lambda literal: f'"{prefix}{literal.group()[1:]}', term.group(1)))
        pos = term.end()
    return "".join(out)


class TenantConnection(Connection):
    """A `Connection` whose calls on a multi-tenant collection's chunks see one tenant only (see the module).

    Collections in `exempt` (the metadata-keys companion) hold no tenant's rows and are passed through. The wrapped
    connection is shared: closing this closes it (a tenant's view of a store does not close, see `MilvusStore`)."""

    def __init__(self, inner: Connection, collection: str, tenant: str | None, exempt: Collection[str] = ()) -> None:
        super().__init__(client=inner.client, capabilities=inner.capabilities, policy=inner.policy)
        self.inner = inner.inner if isinstance(inner, TenantConnection) else inner
        self.collection = collection
        self.tenant = check_tenant(tenant) if tenant is not None else None
        self.exempt = frozenset(exempt)

    def close(self) -> None:
        self.closed = True
        self.inner.close()

    def read(self, method: str, *args: Any, what: str = "", **kwargs: Any) -> Any:
        if not self._scoped(method, args):
            return self.inner.read(method, *args, what=what, **kwargs)
        return self._unkeyed(method, self.inner.read(method, *args, what=what, **self._scope(method, kwargs)))

    def write(self, method: str, *args: Any, what: str, **kwargs: Any) -> Any:
        if not self._scoped(method, args):
            return self.inner.write(method, *args, what=what, **kwargs)
        kwargs = self._scope(method, kwargs)
        if method == "upsert" and self.capabilities.backend == "milvus-server":
            return self._replace(args[0], kwargs["data"], what, kwargs)
        return self._unkeyed(method, self.inner.write(method, *args, what=what, **kwargs))

    # -- the scope ------------------------------------------------------------------------------------------------

    def _scoped(self, method: str, args: tuple[Any, ...]) -> bool:
        """Whether this call touches a tenant's rows. Unknown calls on the chunk collection are refused."""
        name = args[0] if args and isinstance(args[0], str) else None
        if method in _WHOLE or name is None or name in self.exempt:
            return False
        if method not in _READS and method not in _WRITES and method != "delete":
            raise RuntimeError(f"the tenant scope of {self.collection!r} does not know the call {method!r}")
        if self.tenant is None:
            raise TenantRequired(
                f"collection {self.collection!r} is multi-tenant: every read and write names a tenant "
                "(`tenant` in the request, --tenant on the command line, `kb.for_tenant(name)` in Python)"
            )
        return True

    def _scope(self, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        assert self.tenant is not None
        prefix = key_prefix(self.tenant)
        if method in _WRITES:
            rows = [{**row, "id": prefix + row["id"], TENANT_FIELD: self.tenant} for row in kwargs["data"]]
            return {**kwargs, "data": rows}
        if "ids" in kwargs:  # the store filters by expression only; an id list would go round the scope
            raise RuntimeError("the tenant scope takes filters, not `ids=`")
        user = key_ids(kwargs.get("filter", ""), prefix)
        scoped = tenant_expr(self.tenant) + (f" and ({user})" if user.strip() else "")
        return {**kwargs, "filter": scoped}

    def _unkeyed(self, method: str, result: Any) -> Any:
        """Rows read with their primary keys as the engine wrote them (the tenant's prefix stripped)."""
        if method != "query":
            return result
        assert self.tenant is not None
        prefix = key_prefix(self.tenant)
        return [_strip(row, prefix) for row in result]

    def _replace(self, name: str, rows: list[dict[str, Any]], what: str, kwargs: dict[str, Any]) -> None:
        """An upsert as delete + insert. Milvus 2.3.5's upsert into a collection with a partition key does not
        replace the row (`tests/test_tenants.py` shows it on the server), so the store deletes the keys (in this
        tenant) and inserts the rows. An insert that failed in transit may have landed: the pair is run once more,
        and its delete removes what did."""
        ids = ", ".join(string_literal(row["id"]) for row in rows)  # key-spaced already
        delete = f"{tenant_expr(self.tenant or '')} and (id in [{ids}])"
        extra = {k: v for k, v in kwargs.items() if k not in ("data", "retry")}
        for attempt in (1, 2):
            self.inner.write("delete", name, filter=delete, what=f"delete before the {what}")
            try:
                self.inner.write("insert", name, data=rows, what=what, retry=False, **extra)
                return
            except BackendUnavailable:
                if attempt == 2:
                    raise


def _strip(row: dict[str, Any], prefix: str) -> dict[str, Any]:
    if "id" not in row:
        return row
    if not row["id"].startswith(prefix):  # the filter keeps other tenants out; this would be a bug, not data
        raise RuntimeError("the tenant scope read a row of another tenant")
    return {**row, "id": row["id"][len(prefix) :]}
