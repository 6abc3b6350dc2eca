"""Keys scoped to collections, access and a tenant, over real HTTP on a multi-tenant collection: each key reaches
exactly its scope (404 outside its collections, 403 for an action or tenant it may not, 400 without its tenant), keys
are stored hashed and work or stop working without a restart, and the admin and read keys keep working beside them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from search_api.app import create_app
from semsearch.embedder import Embedder
from semsearch.errors import KeysFileUnreadable
from semsearch.scoped_keys import create_key, revoke_key
from semsearch.settings import Settings
from tests.helpers import run_cli

ADMIN, READER = "admin-key", "read-key"
DOCS = {
    "acme": [{"id": "plan.md", "text": "Acme plans to sell rocket skates to coyotes next spring."}],
    "globex": [{"id": "plan.md", "text": "Globex plans a volcano lair with a monorail and a sunlit pool."}],
}


class Api:
    def __init__(self, client: TestClient, keys_file: Path) -> None:
        self.client, self.keys_file = client, keys_file

    def key(self, access: str, collections: tuple[str, ...] = ("tenants",), tenant: str | None = None) -> str:
        return create_key(self.keys_file, collections, access, tenant)[1]  # type: ignore[arg-type]

    def call(self, key: str | None, method: str, path: str, body: Any = None, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return self.client.request(method, path, json=body, params=params, headers=headers)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("scoped")
    settings = Settings(
        milvus_uri=str(root / "s.db"),
        collection="tenants",
        multi_tenant=True,
        api_key=SecretStr(ADMIN),
        read_api_key=SecretStr(READER),
        keys_file=str(root / "keys.json"),
        _env_file=None,
    )
    with TestClient(create_app(settings, embedder=embedder)) as client:
        api = Api(client, root / "keys.json")
        for tenant, docs in DOCS.items():
            response = api.call(ADMIN, "POST", "/documents", {"documents": docs, "tenant": tenant})
            assert response.status_code == 200, response.text
        yield api


def search(api: Api, key: str | None, tenant: str | None) -> Any:
    return api.call(key, "POST", "/search", {"query": "plans", **({"tenant": tenant} if tenant else {})})


def test_a_tenants_key_reads_its_tenant_only(api: Api) -> None:
    key = api.key("read", tenant="acme")
    found = search(api, key, "acme")
    assert found.status_code == 200 and {h["text"] for h in found.json()["results"]} == {DOCS["acme"][0]["text"]}
    assert search(api, key, "globex").status_code == 403
    missing = search(api, key, None)
    assert missing.status_code == 400 and "acme" in missing.json()["detail"]
    assert api.call(key, "GET", "/documents/plan.md", tenant="acme").json()["text"] == DOCS["acme"][0]["text"]
    assert api.call(key, "GET", "/documents", tenant="globex").status_code == 403
    assert api.call(key, "POST", "/context", {"query": "plans", "tenant": "globex"}).status_code == 403
    assert api.call(key, "GET", "/tenants").status_code == 403


def test_a_read_key_cannot_write_and_a_write_key_writes_its_tenant_only(api: Api) -> None:
    reader, writer = api.key("read", tenant="acme"), api.key("write", tenant="acme")
    body = {"documents": [{"id": "memo.md", "text": "Acme memo: skates need brakes."}], "tenant": "acme"}
    assert api.call(reader, "POST", "/documents", body).status_code == 403
    assert api.call(writer, "POST", "/documents", body).status_code == 200
    assert api.call(writer, "POST", "/documents", {**body, "tenant": "globex"}).status_code == 403
    assert api.call(writer, "DELETE", "/documents/memo.md", tenant="globex").status_code == 403
    assert api.call(writer, "DELETE", "/documents/memo.md", tenant="acme").status_code == 200
    assert api.call(ADMIN, "GET", "/tenants/globex").json() == {"tenant": "globex", "documents": 1, "chunks": 1}


def test_a_key_outside_its_collections_finds_nothing_there(api: Api) -> None:
    other = api.key("write", collections=("hr",))
    for method, path, body in [("POST", "/search", {"query": "x", "tenant": "acme"}), ("GET", "/documents", None)]:
        response = api.call(other, method, path, body)
        assert response.status_code == 404 and "'tenants' not found" in response.json()["detail"]


def test_a_collection_wide_key_names_any_tenant_but_must_name_one(api: Api) -> None:
    key = api.key("read")
    assert search(api, key, "globex").json()["results"][0]["text"] == DOCS["globex"][0]["text"]
    refused = search(api, key, None)
    assert refused.status_code == 400 and "multi-tenant" in refused.json()["detail"]
    assert api.call(key, "GET", "/tenants").json()["tenants"] == ["acme", "globex"]
    assert api.call(key, "GET", "/metrics").status_code == 403  # the admin key's alone


def test_keys_work_and_stop_working_without_a_restart(api: Api) -> None:
    key = api.key("read", tenant="acme")
    assert search(api, key, "acme").status_code == 200
    revoke_key(api.keys_file, key)
    assert search(api, key, "acme").status_code == 401
    assert search(api, key[:-1] + ("A" if key[-1] != "A" else "B"), "acme").status_code == 401


def test_the_admin_and_read_keys_keep_working_beside_scoped_keys(api: Api) -> None:
    api.key("read")
    assert search(api, READER, "globex").status_code == 200
    assert search(api, ADMIN, "acme").status_code == 200
    assert api.call(READER, "POST", "/documents", {"documents": DOCS["acme"], "tenant": "acme"}).status_code == 403
    assert search(api, None, "acme").status_code == 401


def test_the_keys_file_holds_hashes_not_keys(api: Api) -> None:
    key = api.key("write", tenant="acme")
    stored = api.keys_file.read_text()
    assert key not in stored and key.split("_")[2] not in stored
    assert (api.keys_file.stat().st_mode & 0o777) == 0o600


def test_openapi_says_which_key_each_operation_takes(api: Api) -> None:
    api.key("read")
    schema = api.call(ADMIN, "GET", "/openapi.json").json()
    assert set(schema["components"]["securitySchemes"]) == {"bearer", "readKey", "scopedKey"}
    assert schema["paths"]["/search"]["post"]["x-access"] == "read"
    assert {"scopedKey": []} in schema["paths"]["/search"]["post"]["security"]
    assert schema["paths"]["/documents"]["post"]["x-access"] == "write"
    assert schema["paths"]["/tenants/{tenant}"]["delete"]["x-access"] == "write"
    assert schema["paths"]["/metrics"]["get"]["x-access"] == "admin"
    assert {"scopedKey": []} not in schema["paths"]["/metrics"]["get"]["security"]


def test_a_tenant_is_deleted_whole_over_http(api: Api) -> None:
    body = {"documents": [{"id": "a.md", "text": "Initech: the stapler stays."}], "tenant": "initech"}
    assert api.call(ADMIN, "POST", "/documents", body).status_code == 200
    writer = api.key("write", tenant="initech")
    assert api.call(writer, "DELETE", "/tenants/globex").status_code == 403
    assert api.call(writer, "DELETE", "/tenants/initech").json() == {"tenant": "initech", "deleted": 1}
    assert search(api, ADMIN, "initech").json()["results"] == []
    assert search(api, ADMIN, "globex").json()["results"]


def test_an_unreadable_keys_file_stops_the_service_naming_it(tmp_path: Path, embedder: Embedder) -> None:
    keys = tmp_path / "broken-keys.json"
    keys.write_text("{not json")
    settings = Settings(milvus_uri=str(tmp_path / "b.db"), keys_file=str(keys), _env_file=None)
    with pytest.raises(KeysFileUnreadable, match=r"broken-keys\.json"):
        create_app(settings, embedder=embedder)
    env = {"SEMSEARCH_KEYS_FILE": str(keys), "SEMSEARCH_MILVUS_URI": str(tmp_path / "c.db")}
    result = run_cli("serve", cwd=tmp_path, env=env)
    assert result.returncode != 0 and "broken-keys.json" in result.stderr


def test_keys_are_created_listed_and_revoked_on_the_command_line(tmp_path: Path) -> None:
    env = {"SEMSEARCH_KEYS_FILE": str(tmp_path / "k.json")}
    create = ("keys", "create", "--collection", "hr", "--read", "--tenant", "acme", "--json")
    created = run_cli(*create, cwd=tmp_path, env=env)
    assert created.returncode == 0, created.stderr
    made = json.loads(created.stdout)
    assert made["key"].startswith("ssk_") and made["tenant"] == "acme" and made["access"] == "read"
    listed = json.loads(run_cli("keys", "list", "--json", cwd=tmp_path, env=env).stdout)["keys"]
    assert [k["id"] for k in listed] == [made["id"]] and "key" not in listed[0] and "hash" not in listed[0]
    assert run_cli("keys", "create", "--collection", "hr", "--read", "--write", cwd=tmp_path, env=env).returncode == 2
    assert run_cli("keys", "revoke", made["id"], cwd=tmp_path, env=env).returncode == 0
    assert run_cli("keys", "revoke", made["id"], cwd=tmp_path, env=env).returncode == 4


def test_a_key_works_on_its_collections_routes_and_finds_no_other_collection(api: Api) -> None:
    key = api.key("read", tenant="acme")
    body = {"query": "plans", "tenant": "acme"}
    found = api.call(key, "POST", "/collections/tenants/search", body)
    assert found.status_code == 200 and found.json()["results"][0]["text"] == DOCS["acme"][0]["text"]
    assert api.call(key, "POST", "/collections/hr/search", body).status_code == 404
    assert api.call(key, "GET", "/collections/tenants/tenants/acme").json()["tenant"] == "acme"
    assert api.call(key, "GET", "/collections").status_code == 403  # listing collections is not a scoped key's


def test_uploads_land_in_the_tenant_they_name(api: Api) -> None:
    def upload(tenant: str | None) -> Any:
        files = [("files", ("dinner.md", b"# Dinner\n\nAcme's dinner is on Friday at the harbour."))]
        data = {"tenant": tenant} if tenant else {}
        headers = {"Authorization": f"Bearer {ADMIN}"}
        return api.client.post("/files", params={"wait": "true"}, files=files, data=data, headers=headers)

    missing = upload(None)
    assert missing.status_code == 400 and "multi-tenant" in missing.json()["detail"]
    landed = upload("acme")
    assert landed.status_code == 200 and landed.json()["tenant"] == "acme"
    assert search(api, ADMIN, "acme").json()["results"]
    assert "dinner" in search(api, ADMIN, "acme").text.lower()
    assert "dinner" not in search(api, ADMIN, "globex").text.lower()
    listed = {f["file_id"] for f in api.call(ADMIN, "GET", "/files", tenant="acme").json()["files"]}
    assert "dinner.md" in listed
    assert "dinner.md" not in {f["file_id"] for f in api.call(ADMIN, "GET", "/files", tenant="globex").json()["files"]}
    assert api.call(ADMIN, "DELETE", "/files/dinner.md", tenant="globex").status_code == 404
    assert api.call(ADMIN, "DELETE", "/files/dinner.md", tenant="acme").status_code == 200
