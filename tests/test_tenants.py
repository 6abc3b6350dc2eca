"""Tenants inside one collection: on Milvus Lite (a tenant field the store filters on) and on the 2.3.5 server (a
partition key), every verb of a tenant's knowledge base sees and changes that tenant's documents only."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from semsearch.embedder import Embedder
from semsearch.engine import Engine
from semsearch.errors import Forbidden, InvalidFilter, InvalidTenant, TenantRequired
from semsearch.knowledge_base import KnowledgeBase
from semsearch.settings import Settings
from semsearch.store.tenants import key_ids
from tests.helpers import run_cli, semsearch_server
from tests.milvus_server import MilvusServer

DOCS = {
    "acme": [
        {
            "id": "handbook.md",
            "text": "Acme's holidays: every employee gets thirty days of paid leave.",
            "metadata": {"team": "hr"},
        },
        {
            "id": "otters.md",
            "text": "Acme's mascot is an otter that holds hands while sleeping.",
            "metadata": {"team": "pr"},
        },
    ],
    "globex": [
        {
            "id": "handbook.md",
            "text": "Globex holidays: twelve days of leave, and a free volcano tour.",
            "metadata": {"team": "hr"},
        },
        {
            "id": "reactor.md",
            "text": "The Globex reactor is inspected every Tuesday by the safety team.",
            "metadata": {"team": "ops"},
        },
    ],
}


@pytest.fixture(params=["lite", pytest.param("server", marks=pytest.mark.server)])
def multi(request: pytest.FixtureRequest, tmp_path: Path, embedder: Embedder) -> Iterator[KnowledgeBase]:
    """A multi-tenant knowledge base holding DOCS, on Milvus Lite and on the real Milvus server."""
    if request.param == "lite":
        settings = Settings(milvus_uri=str(tmp_path / "t.db"), collection="tenants", multi_tenant=True, _env_file=None)
    else:
        server: MilvusServer = request.getfixturevalue("milvus_server")
        name = f"tenants_{uuid.uuid4().hex[:12]}"
        settings = Settings(milvus_uri=server.uri, collection=name, multi_tenant=True, _env_file=None)
    engine = Engine.open(settings, create=True, embedder=embedder)
    kb = KnowledgeBase(engine)
    try:
        for tenant, docs in DOCS.items():
            kb.for_tenant(tenant).add(docs)
        yield kb
    finally:
        if request.param == "server":
            store = engine.store
            store.client.drop_alias(store.collection)
            store.client.drop_collection(store.target)
            store.client.drop_collection(f"{store.collection}__keys")
        engine.close()


def texts(kb: KnowledgeBase) -> set[str]:
    return {hit.text for hit in kb.search("holidays and leave", top_k=10).results}


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_a_tenant_searches_only_its_own_chunks(multi: KnowledgeBase, mode: str) -> None:
    if mode != "dense" and not multi.engine.store.keyword_ready:
        pytest.skip("BM25 needs Milvus >= 2.5; the test server is 2.3.5")
    for tenant, docs in DOCS.items():
        hits = multi.for_tenant(tenant).search("holidays leave otter reactor", top_k=10, mode=mode).results
        assert {hit.text for hit in hits} <= {doc["text"] for doc in docs}
        assert hits, tenant


def test_filters_offsets_grouping_context_and_listing_stay_inside_the_tenant(multi: KnowledgeBase) -> None:
    acme, own = multi.for_tenant("acme"), {doc["text"] for doc in DOCS["acme"]}
    hr_or_ops = {"team": {"$in": ["hr", "ops"]}}
    assert {h.text for h in acme.search("leave", filter=hr_or_ops).results} == {DOCS["acme"][0]["text"]}
    assert {h.text for h in acme.search("leave", filter={"team": {"$ne": "zzz"}}, offset=1).results} <= own
    assert {h.text for h in acme.search("leave", group_by_document=True).results} <= own
    assert {p.text for p in acme.context("holidays", token_budget=500).passages} <= own
    assert sorted(d.doc_id for d in acme.documents()) == ["handbook.md", "otters.md"]
    assert acme.document("handbook.md").text == DOCS["acme"][0]["text"]
    assert acme.count() == 2 and multi.for_tenant("globex").count() == 2


def test_the_same_document_id_in_two_tenants_is_two_documents(multi: KnowledgeBase) -> None:
    acme, globex = multi.for_tenant("acme"), multi.for_tenant("globex")
    changed = "Acme's holidays changed: forty days of leave, and the otter gets a week."
    stats = acme.add([{"id": "handbook.md", "text": changed}])
    assert stats.embedded == 1
    assert acme.document("handbook.md").text == changed
    assert globex.document("handbook.md").text == DOCS["globex"][0]["text"]
    assert acme.count() == 2 and globex.count() == 2  # replaced, not added (the server's upsert trap)
    assert acme.add([{"id": "handbook.md", "text": changed}]).embedded == 0
    assert acme.delete("handbook.md") == 1
    assert globex.document("handbook.md").text == DOCS["globex"][0]["text"]
    assert texts(globex) == {doc["text"] for doc in DOCS["globex"]}


def test_export_holds_the_tenants_chunks_only(multi: KnowledgeBase, tmp_path: Path) -> None:
    report = multi.for_tenant("globex").export(tmp_path / "globex.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "globex.jsonl").read_text().splitlines()[1:]]
    assert report.chunks == 2 and {row["text"] for row in rows} == {doc["text"] for doc in DOCS["globex"]}
    imported = multi.for_tenant("initech").import_from(tmp_path / "globex.jsonl")
    assert imported.chunks == 2 and multi.for_tenant("initech").count() == 2
    assert multi.for_tenant("globex").count() == 2


def test_tenants_are_listed_counted_and_deleted_whole(multi: KnowledgeBase) -> None:
    assert multi.tenants() == ["acme", "globex"]
    assert multi.count() == 4  # the whole collection: a number, not content
    assert multi.engine.store.serving_count() == 4 and multi.for_tenant("acme").engine.store.serving_count() == 2
    whole, acme = multi.status(), multi.for_tenant("acme").status()
    assert (whole["multi_tenant"], whole["tenant"], whole["documents"], whole["chunks"]) == (True, None, 4, 4)
    assert (acme["tenant"], acme["documents"], acme["chunks"]) == ("acme", 2, 2)
    assert multi.delete_tenant("acme") == 2
    assert multi.tenants() == ["globex"]
    assert multi.for_tenant("acme").count() == 0 and multi.for_tenant("acme").search("holidays").results == []
    assert multi.for_tenant("globex").count() == 2


def test_the_whole_collection_refuses_reads_and_writes_without_a_tenant(multi: KnowledgeBase) -> None:
    for call in (
        lambda: multi.search("holidays"),
        lambda: multi.context("holidays"),
        lambda: multi.add([{"id": "x", "text": "no tenant"}]),
        lambda: multi.delete("handbook.md"),
        lambda: list(multi.documents()),
    ):
        with pytest.raises(TenantRequired, match="multi-tenant"):
            call()


@pytest.mark.parametrize("name", ["", "a/b", 'a"b', "a b", "-a", "x" * 65, "a\\b"])
def test_a_tenant_name_that_cannot_be_stored_is_refused(multi: KnowledgeBase, name: str) -> None:
    with pytest.raises(InvalidTenant, match="not a valid tenant name"):
        multi.for_tenant(name)


def test_a_single_tenant_collection_takes_no_tenant(engine: Engine) -> None:
    with pytest.raises(InvalidTenant, match="not multi-tenant"):
        KnowledgeBase(engine).for_tenant("acme")
    assert KnowledgeBase(engine).tenants() == []


def test_primary_key_literals_are_key_spaced_and_nothing_else() -> None:
    expr = 'id in ["a", "b\\"c"] and metadata["id"] == "id in [\\"x\\"]" and doc_id == "id"'
    assert key_ids(expr, "t/") == (
        'id in ["t/a", "t/b\\"c"] and metadata["id"] == "id in [\\"x\\"]" and doc_id == "id"'
    )
    assert key_ids('(chunk_index == 0) and (id > "k")', "t/") == '(chunk_index == 0) and (id > "t/k")'
    with pytest.raises(ValueError, match="cannot key-space"):
        key_ids("id like 'a%'", "t/")


def test_the_command_line_works_in_one_tenant(tmp_path: Path) -> None:
    env = {
        "SEMSEARCH_MILVUS_URI": str(tmp_path / "cli.db"),
        "SEMSEARCH_COLLECTION": "cli",
        "SEMSEARCH_MULTI_TENANT": "1",
    }
    for tenant, docs in DOCS.items():
        folder = tmp_path / tenant
        folder.mkdir()
        for doc in docs:
            (folder / doc["id"]).write_text(doc["text"])
        ingested = run_cli("ingest", "--tenant", tenant, str(folder), "--base", str(folder), cwd=tmp_path, env=env)
        assert ingested.returncode == 0, ingested.stderr
    found = run_cli("search", "--tenant", "globex", "holidays", "--json", cwd=tmp_path, env=env)
    assert {hit["text"] for hit in json.loads(found.stdout)["results"]} <= {doc["text"] for doc in DOCS["globex"]}
    listed = run_cli("list", "--tenant", "acme", "--json", cwd=tmp_path, env=env)
    assert sorted(json.loads(line)["doc_id"] for line in listed.stdout.splitlines()) == ["handbook.md", "otters.md"]
    refused = run_cli("search", "holidays", cwd=tmp_path, env=env)
    assert refused.returncode == 2 and "multi-tenant" in refused.stderr


def test_a_tenants_knowledge_base_cannot_reach_another_tenant(multi: KnowledgeBase) -> None:
    acme = multi.for_tenant("acme")
    assert acme.for_tenant("acme").count() == 2
    with pytest.raises(Forbidden, match="confined to tenant 'acme'"):
        acme.for_tenant("globex")
    with pytest.raises(Forbidden):
        acme.delete_tenant("globex")
    assert multi.for_tenant("globex").count() == 2


def test_a_tenant_deleting_its_last_document_with_a_field_leaves_the_field_to_the_others(multi: KnowledgeBase) -> None:
    acme, globex = multi.for_tenant("acme"), multi.for_tenant("globex")
    acme.add([{"id": "solo.md", "text": "Acme's only note with a priority.", "metadata": {"priority": 1}}])
    globex.add([{"id": "urgent.md", "text": "Globex: the reactor is urgent.", "metadata": {"priority": 2}}])
    acme.delete("solo.md")
    assert [h.doc_id for h in globex.search("reactor", filter={"priority": 2}).results] == ["urgent.md"]
    multi.delete_tenant("globex")
    with pytest.raises(InvalidFilter, match="priority"):  # no chunk of any tenant has it now
        acme.search("note", filter={"priority": 1})


def test_the_mcp_tools_search_the_tenant_they_name(multi: KnowledgeBase) -> None:
    from tests.test_mcp import in_process  # the real MCP client against the server in this process

    engine = multi.engine
    found = in_process(engine, "search", {"query": "holidays", "tenant": "globex", "mode": "dense"})
    assert {hit["text"] for hit in found.structured_content["results"]} <= {doc["text"] for doc in DOCS["globex"]}
    context = in_process(engine, "get_context", {"query": "holidays", "tenant": "acme", "mode": "dense"})
    assert {p["citation"]["doc_id"] for p in context.structured_content["passages"]} <= {"handbook.md", "otters.md"}
    refused = in_process(engine, "search", {"query": "holidays", "mode": "dense"})
    assert refused.is_error and "multi-tenant" in refused.content[0].text
    confined = engine.settings.model_copy(update={"tenant": "acme"})
    engine.settings, saved = confined, engine.settings
    try:
        other = in_process(engine, "search", {"query": "holidays", "tenant": "globex", "mode": "dense"})
        assert other.is_error and "confined to tenant 'acme'" in other.content[0].text
    finally:
        engine.settings = saved


def test_ingest_and_search_through_a_running_api_work_in_one_tenant(tmp_path: Path) -> None:
    env = {"SEMSEARCH_MILVUS_URI": str(tmp_path / "api.db"), "SEMSEARCH_COLLECTION": "api"}
    env["SEMSEARCH_MULTI_TENANT"] = "true"
    folder = tmp_path / "initech"
    folder.mkdir()
    (folder / "stapler.md").write_text("Initech: the red stapler belongs to Milton.")
    with semsearch_server("serve", cwd=tmp_path, env=env) as base:
        sent = run_cli("ingest", "--api", base, "--tenant", "initech", str(folder), "--base", str(folder), cwd=tmp_path)
        assert sent.returncode == 0, sent.stderr
        found = run_cli("search", "--api", base, "--tenant", "initech", "stapler", "--json", cwd=tmp_path)
        assert json.loads(found.stdout)["results"][0]["doc_id"] == "stapler.md"
        other = run_cli("search", "--api", base, "--tenant", "acme", "stapler", "--json", cwd=tmp_path)
        assert json.loads(other.stdout)["results"] == []
