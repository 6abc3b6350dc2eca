"""docker-compose.yml and the Dockerfile cannot run here (no Docker engine), so they are checked as files: the
service graph, ports, environment, volumes, and what the image build context holds."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from semsearch.settings import Settings
from tests.helpers import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _instructions(name: str) -> list[str]:
    return re.findall(rf"^{name} (.+)$", DOCKERFILE, flags=re.MULTILINE)


def test_the_image_copies_every_package_the_project_installs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {pattern.rstrip("*") for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\S+) \./\1$", DOCKERFILE, flags=re.MULTILINE))
    assert packages <= copied, f"not copied into the image: {packages - copied}"


def test_everything_the_image_copies_is_in_the_build_context() -> None:
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()]
    ignored = [pattern for pattern in ignored if not pattern.startswith("#")]
    sources = [part for line in _instructions("COPY") for part in line.split()[:-1]]
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), f"COPY {source} is dockerignored"
    assert {".venv", ".git", "data"} <= set(ignored)  # a local venv or database never goes into the image


def test_the_image_runs_as_a_non_root_user_with_the_model_inside() -> None:
    users = _instructions("USER")
    assert users and users[-1] not in {"root", "0"}
    assert DOCKERFILE.index("USER ") > DOCKERFILE.rindex("RUN pip install")
    assert "HF_HUB_OFFLINE=1" in DOCKERFILE  # nothing is downloaded at run time
    assert any("Embedder.load(Settings())" in run for run in _instructions("RUN"))  # the build proves the weights load
    assert "torch==2.13.0" in DOCKERFILE


def test_compose_runs_milvus_2_6_standalone_on_etcd_and_minio() -> None:
    assert {"etcd", "minio", "milvus", "api", "ingest"} == SERVICES.keys()
    milvus = SERVICES["milvus"]
    assert re.fullmatch(r"milvusdb/milvus:v2\.6\.\d+", milvus["image"])
    assert milvus["command"] == ["milvus", "run", "standalone"]
    assert milvus["environment"]["ETCD_ENDPOINTS"] == "etcd:2379"
    assert milvus["environment"]["MINIO_ADDRESS"] == "minio:9000"
    assert milvus["depends_on"] == {"etcd": {"condition": "service_healthy"}, "minio": {"condition": "service_healthy"}}
    assert "19530:19530" in milvus["ports"]
    assert "localhost:9091/healthz" in " ".join(milvus["healthcheck"]["test"])


@pytest.mark.parametrize("name", ["etcd", "minio", "milvus", "api"])
def test_long_running_services_have_healthchecks(name: str) -> None:
    assert SERVICES[name]["healthcheck"]["test"][0] == "CMD"


@pytest.mark.parametrize("name", ["etcd", "minio", "milvus"])
def test_stateful_services_keep_their_data_in_named_volumes(name: str) -> None:
    volume = SERVICES[name]["volumes"][0].split(":")[0]
    assert volume in COMPOSE["volumes"]


@pytest.mark.parametrize("name", ["api", "ingest"])
def test_our_services_wait_for_a_healthy_milvus_and_point_at_it(name: str) -> None:
    service = SERVICES[name]
    assert service["depends_on"]["milvus"]["condition"] == "service_healthy"
    env = service["environment"]
    assert env["SEMSEARCH_MILVUS_URI"] == "http://milvus:19530"
    settings = set(Settings.model_fields)
    unknown = [
        key for key in env if not key.startswith("SEMSEARCH_") or key.removeprefix("SEMSEARCH_").lower() not in settings
    ]
    assert not unknown, f"environment variables no setting reads: {unknown}"
    assert service["build"]["context"] == "." and (ROOT / service["build"]["dockerfile"]).exists()


def test_the_api_serves_on_the_published_port() -> None:
    api = SERVICES["api"]
    port = api["command"][api["command"].index("--port") + 1]
    assert f"{port}:{port}" in api["ports"]
    assert _instructions("EXPOSE") == [port]
    assert f"localhost:{port}/ready" in " ".join(api["healthcheck"]["test"])


def test_ingest_is_an_opt_in_job_over_a_mounted_folder() -> None:
    ingest = SERVICES["ingest"]
    assert ingest["profiles"] == ["ingest"]
    assert ingest["image"] == SERVICES["api"]["image"]
    host, container, mode = ingest["volumes"][0].rsplit(":", 2)
    assert container == ingest["working_dir"] and mode == "ro"
    assert host.startswith("${INGEST_DIR:-") and Path(ROOT / host.removeprefix("${INGEST_DIR:-").rstrip("}")).is_dir()
    assert ingest["command"][:2] == ["semsearch", "ingest"]
