"""docker-compose.yml and the Dockerfile cannot run here (no Docker engine), so they are checked as files."""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.conftest import ROOT


def test_the_image_copies_every_package_the_project_installs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {pattern.rstrip("*") for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\S+) \./\1$", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE))
    assert packages <= copied, f"not copied into the image: {packages - copied}"


def test_compose_runs_milvus_standalone_and_the_api_against_it() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"etcd", "minio", "milvus", "api"} <= services.keys()
    assert services["milvus"]["depends_on"] == {
        "etcd": {"condition": "service_healthy"},
        "minio": {"condition": "service_healthy"},
    }
    assert services["api"]["depends_on"]["milvus"]["condition"] == "service_healthy"
    assert services["api"]["environment"]["SEMSEARCH_MILVUS_URI"] == "http://milvus:19530"
    assert "8000:8000" in services["api"]["ports"]
    for name in ("etcd", "minio", "milvus"):
        assert "healthcheck" in services[name]
        volume = services[name]["volumes"][0].split(":")[0]
        assert volume in compose["volumes"]
