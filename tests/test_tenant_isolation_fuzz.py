"""Isolation fuzz: thousands of random requests with random keys, tenants, filters (`$in`, `$nin`, negations, `$or`,
injection attempts), offsets, grouping, /context, listing with cursors and export, against a multi-tenant collection
whose tenants share document ids. No answer may hold another tenant's chunk, none may be a server error, and a
request without its tenant is refused, never answered empty.

Every document's `source` is `<tenant>/<doc id>`: whatever a response returns (hits, citations, listings, a
document), its source says whose it is.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from search_api.app import create_app
from semsearch.embedder import Embedder
from semsearch.knowledge_base import KnowledgeBase
from semsearch.scoped_keys import create_key
from semsearch.settings import Settings

TENANTS = ["acme", "globex", "initech"]
TOPICS = ["rockets", "volcanoes", "staplers", "otters", "budgets", "holidays"]
ADMIN = "admin-key"
QUERIES = ["rockets and budgets", "holiday plans", "otters", "the stapler", 'quote " and \\ backslash', "volcano"]


def documents(tenant: str) -> list[dict[str, Any]]:
    """Six documents per tenant; ids repeat across tenants (`doc-0` is everyone's), metadata differs."""
    return [
        {
            "id": f"doc-{i}",
            "source": f"{tenant}/doc-{i}",
            "text": f"{tenant} notes on {topic}: " + " ".join([f"{topic} matter number {i}."] * (4 + 25 * (i % 2))),
            "metadata": {"team": ["hr", "ops", "pr"][i % 3], "year": 2020 + i, "owner": tenant, "tag": topic},
        }
        for i, topic in enumerate(TOPICS)
    ]


class World:
    """The app, its keys, and what each tenant holds."""

    def __init__(self, client: TestClient, keys_file: Path) -> None:
        self.client = client
        self.keys: dict[str, tuple[str | None, str | None, str]] = {  # name -> (key, tenant it is confined to, kind)
            "none": (None, None, "none"),
            "wrong": ("ssk_000000000000_" + "x" * 43, None, "wrong"),
            "admin": (ADMIN, None, "wide"),
            "wide-read": (create_key(keys_file, ["fuzz"], "read")[1], None, "wide"),
            "other-collection": (create_key(keys_file, ["hr"], "write")[1], None, "elsewhere"),
        }
        for tenant in TENANTS:
            for access in ("read", "write"):
                self.keys[f"{tenant}-{access}"] = (create_key(keys_file, ["fuzz"], access, tenant)[1], tenant, "tenant")
        self.chunks: dict[str, int] = {}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[World]:
    root = tmp_path_factory.mktemp("isolation")
    settings = Settings(
        milvus_uri=str(root / "f.db"),
        collection="fuzz",
        multi_tenant=True,
        api_key=SecretStr(ADMIN),
        keys_file=str(root / "keys.json"),
        chunk_tokens=48,
        chunk_overlap=8,
        _env_file=None,
    )
    with TestClient(create_app(settings, embedder=embedder)) as client:
        world = World(client, root / "keys.json")
        for tenant in TENANTS:
            body = {"documents": documents(tenant), "tenant": tenant}
            response = client.post("/documents", json=body, headers={"Authorization": f"Bearer {ADMIN}"})
            assert response.status_code == 200, response.text
            world.chunks[tenant] = response.json()["chunks"]
        assert len(set(world.chunks.values())) == 1 and world.chunks["acme"] > len(TOPICS)  # multi-chunk docs
        yield world


scalars = st.one_of(
    st.sampled_from(["hr", "ops", "pr", "acme", "globex", 'x" or tenant != "', "') or (1==1", "\\", ""]),
    st.integers(min_value=2018, max_value=2030),
    st.booleans(),
)
#: Filters the engine takes (their fields exist, their values have the field's type)...
valid_filters = st.dictionaries(
    st.sampled_from(["team", "tag", "owner", "year", "chunk_index"]),
    st.one_of(
        st.sampled_from(["hr", "ops", "pr", *TOPICS, *TENANTS]),
        st.dictionaries(
            st.sampled_from(["$ne", "$in", "$nin"]),
            st.lists(st.sampled_from(["hr", "ops", "acme", "otters", 'x" or 1==1 or "']), min_size=1, max_size=3),
            min_size=1,
            max_size=1,
        ).map(lambda d: {op: (v if op != "$ne" else v[0]) for op, v in d.items()}),
    ),
    max_size=2,
).map(
    lambda spec: {
        k: (v if k not in ("year", "chunk_index") or isinstance(v, dict) else {"$gte": 1}) for k, v in spec.items()
    }
)
#: ... and any others: unknown fields (`tenant`, `id`), operators it lacks (`$or`, `$not`), values of another type.
any_filters = st.one_of(
    st.dictionaries(
        st.sampled_from(["team", "year", "owner", "tag", "doc_id", "source", "chunk_index", "tenant", "id", "nope"]),
        st.one_of(
            scalars,
            st.dictionaries(
                st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$or", "$not"]),
                st.one_of(scalars, st.lists(scalars, max_size=4)),
                min_size=1,
                max_size=2,
            ),
        ),
        max_size=3,
    ),
    st.builds(lambda a: {"$or": [a, {"owner": "globex"}]}, st.dictionaries(st.just("team"), scalars, max_size=1)),
)
filters = st.one_of(st.none(), valid_filters, valid_filters, any_filters)
KEYS = [
    "none",
    "wrong",
    "admin",
    "wide-read",
    "other-collection",
    *[f"{t}-{a}" for t in TENANTS for a in ("read", "write")],
]
#: Most requests carry a key and a tenant that pass, so that most answers are searches that could leak.
LIKELY_KEYS = ["admin", "wide-read", *[f"{t}-{a}" for t in TENANTS for a in ("read", "write")]]
odd_tenants = st.sampled_from([*TENANTS, None, "nobody", "a/b", 'x"y'])


def confined_to(key: str) -> str | None:
    return key.split("-")[0] if key.split("-")[0] in TENANTS else None


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, str, dict[str, Any] | None, dict[str, Any], str | None]:
    """(key name, method, path, body, query params, the tenant named)."""
    key = draw(st.sampled_from(LIKELY_KEYS) if draw(st.integers(0, 9)) < 8 else st.sampled_from(KEYS))
    passing = confined_to(key) or draw(st.sampled_from(TENANTS))
    tenant = passing if draw(st.integers(0, 9)) < 7 else draw(odd_tenants)
    named = {"tenant": tenant} if tenant is not None else {}
    route = draw(st.sampled_from(["search", "search", "search", "context", "list", "get", "tenant", "tenants"]))
    if route == "search":
        body = {
            "query": draw(st.sampled_from(QUERIES)),
            "top_k": draw(st.integers(1, 20)),
            "offset": draw(st.sampled_from([0, 0, 1, 3, 7, 30])),
            "mode": draw(st.sampled_from(["dense", "keyword", "hybrid", None])),
            "group_by_document": draw(st.booleans()),
            "filter": draw(filters),
            **named,
        }
        return key, "POST", "/search", body, {}, tenant
    if route == "context":
        body = {"query": draw(st.sampled_from(QUERIES)), "token_budget": draw(st.sampled_from([64, 300, 2000]))}
        body = {**body, "filter": draw(filters), "candidates": draw(st.integers(1, 40)), **named}
        return key, "POST", "/context", body, {}, tenant
    if route == "list":
        params = {"limit": draw(st.integers(1, 8)), "after": draw(st.sampled_from([None, "", "0", "acme/", "zz"]))}
        params = {k: v for k, v in params.items() if v is not None}
        return key, "GET", "/documents", None, {**params, **named}, tenant
    if route == "get":
        return key, "GET", f"/documents/doc-{draw(st.integers(0, 7))}", None, named, tenant
    if route == "tenant":  # a name with "/" would be another path: routing's 404, not the tenant's
        name = tenant if tenant is not None and "/" not in tenant else "acme"
        return key, "GET", f"/tenants/{name}", None, {}, name
    return key, "GET", "/tenants", None, {}, None


def sources(path: str, body: Any) -> list[str]:
    """Every source a successful answer shows."""
    if path in ("/search",):
        return [hit["source"] for hit in body["results"]]
    if path == "/context":
        return [passage["citation"]["source"] for passage in body["passages"]]
    if path == "/documents":
        return [doc["source"] for doc in body["documents"]]
    if path.startswith("/documents/"):
        return [body["source"]]
    return []


def expected(kind: str, confined: str | None, route: str, tenant: str | None) -> set[int]:
    """What a request may answer, written out: the key decides first, then the tenant; a request that passes both may
    still be refused for its input (400, 422: a bad filter, a name that is no tenant's), or find no document (404)."""
    if kind in ("none", "wrong"):
        return {401}
    if kind == "elsewhere":
        return {404}
    if route == "/tenants":
        return {403} if confined else {200}
    if confined is not None and tenant is None:
        return {400, 422}
    if confined is not None and tenant != confined:
        return {403, 422}
    if tenant is None:
        return {400, 422}  # a multi-tenant collection: never an empty 200
    return {200, 400, 404, 422}


@given(request=requests())
@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_request_reads_another_tenants_chunks(world: World, request: tuple) -> None:
    key, method, path, body, params, tenant = request
    secret, confined, kind = world.keys[key]
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    response = world.client.request(method, path, json=body, params=params, headers=headers)
    route = "/tenants" if path == "/tenants" else path
    assert response.status_code < 500, (method, path, body, params, key, response.text)
    assert response.status_code in expected(kind, confined, route, tenant), (
        method,
        path,
        body,
        params,
        key,
        response.text,
    )
    event(f"{method} {path.split('/')[1]} -> {response.status_code}")  # --hypothesis-show-statistics shows the mix
    if response.status_code != 200:
        return
    answer = response.json()
    event(f"{method} {path.split('/')[1]} -> 200 with {'some' if sources(path, answer) else 'no'} chunks")
    assert all(source.startswith(f"{tenant}/") for source in sources(path, answer)), (body, params, key, answer)
    if path.startswith("/tenants/"):
        assert answer["chunks"] == world.chunks.get(tenant, 0)
    if path == "/tenants":
        assert answer["tenants"] == TENANTS


@given(tenant=st.sampled_from(TENANTS), vectors=st.booleans(), filter=filters)
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_a_tenants_export_and_listing_hold_its_chunks_only(
    world: World, tmp_path_factory: pytest.TempPathFactory, tenant: str, vectors: bool, filter: Any
) -> None:
    kb = KnowledgeBase(world.client.app.state.engine).for_tenant(tenant)
    path = tmp_path_factory.mktemp("export") / "e.jsonl"
    report = kb.export(path, vectors=vectors)
    lines = path.read_text().splitlines()[1:]
    assert report.chunks == len(lines) == world.chunks[tenant]
    assert all(f'"source": "{tenant}/' in line for line in lines)
    try:
        listed = list(itertools.islice(kb.documents(filter=filter), 50))
    except Exception as exc:  # a filter the engine refuses is the caller's error, never a leak
        assert type(exc).__name__ in ("InvalidFilter",), exc
        return
    assert all(doc.source.startswith(f"{tenant}/") for doc in listed)
