"""docker-compose.yml and the Dockerfile cannot run here (no Docker engine), so they are checked as files: the
service graph, ports, environment, volumes, and what the image build context holds."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from semsearch.embedder import Embedder
from semsearch.errors import ModelCacheUnwritable
from semsearch.settings import Settings
from tests.helpers import ROOT, SAMPLE_DATA, semsearch_bin
from tests.milvus_server import MilvusServer

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


def _image_env() -> dict[str, str]:
    """The image's ENV lines as a mapping (`ENV A=1 B=2`)."""
    return dict(pair.split("=", 1) for line in _instructions("ENV") for pair in line.split())


def _compose_env(name: str) -> dict[str, str]:
    """A service's environment as compose resolves it with nothing set by the user (`${X:-default}` -> default)."""
    env = SERVICES[name]["environment"]
    return {key: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value)) for key, value in env.items()}


def test_the_model_cache_is_absolute_inside_the_image_and_filled_at_build_time() -> None:
    cache = _image_env()["SEMSEARCH_MODEL_CACHE"]
    assert Path(cache).is_absolute() and not cache.startswith(("/data", "/app/data", "/tmp"))
    assert DOCKERFILE.index("SEMSEARCH_MODEL_CACHE=") < DOCKERFILE.index("Embedder.load(Settings())")  # baked there
    for name in ("api", "ingest"):
        assert "SEMSEARCH_MODEL_CACHE" not in SERVICES[name]["environment"]  # the image's path holds
        mounts = [volume.split(":")[1] for volume in SERVICES[name].get("volumes", [])]
        assert not any(cache.startswith(mount) for mount in mounts)
        uri = _compose_env(name)["SEMSEARCH_MILVUS_URI"]
        settings = Settings(model_cache=cache, milvus_uri=uri, _env_file=None)
        assert settings.model_cache_dir == Path(cache)


def test_the_image_installs_the_extras_its_services_need_and_no_test_tools() -> None:
    """The ingest job reads any folder, Parquet included ([tables]); no service runs `semsearch mcp` or `eval`."""
    [install] = [run for run in _instructions("RUN") if "pip install" in run and "torch==" not in run]
    extras = re.fullmatch(r".* '?\.\[([a-z,]+)\]'?", install)
    assert extras and set(extras[1].split(",")) == {"tables"}, install
    commands = [" ".join(service.get("command", [])) for service in SERVICES.values()]
    assert not [c for c in commands if c.startswith(("semsearch mcp", "semsearch eval"))]


def test_the_image_takes_torch_from_the_cpu_index_and_every_version_from_the_lock() -> None:
    assert "ARG PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu" in DOCKERFILE
    assert "COPY pyproject.toml README.md constraints.txt ./" in DOCKERFILE


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def _read_only(folders: list[Path], command: list[str]) -> list[str]:
    """`command` with `folders` bind-mounted read-only in a private mount namespace, where the kernel allows it
    (as root, file modes would not stop a write); else as is, and the snapshots below still catch a write."""
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True) if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        return command
    mounts = " && ".join(f"mount --bind -o ro '{f}' '{f}'" for f in folders)
    return ["unshare", "-rm", "sh", "-c", f'{mounts} && exec "$0" "$@"', *command]


@pytest.mark.server
def test_the_ingest_job_runs_as_compose_runs_it_on_a_read_only_folder(
    tmp_path: Path, milvus_server: MilvusServer
) -> None:
    """The ingest service's command and environment, the image's ENV (its model cache prepared beforehand, as the
    build does), the user's folder mounted read-only as the working directory: it ingests, and writes nothing
    into the folder or the model cache."""
    source = tmp_path / "docs"
    shutil.copytree(SAMPLE_DATA / "library", source, ignore=lambda d, names: [n for n in names if n > "c"])
    cache = tmp_path / "image-models"
    prepared = Settings().model_cache_dir  # the tests' own cache, so the export is not repeated here
    if prepared.is_dir():
        shutil.copytree(prepared, cache)
    if not cache.is_dir():  # no prepared cache here: prepare one, as the image build does
        Embedder.load(Settings(model_cache=str(cache), _env_file=None))
    env = {**os.environ, **_image_env(), **_compose_env("ingest"), "SEMSEARCH_MODEL_CACHE": str(cache)}
    env |= {"SEMSEARCH_MILVUS_URI": milvus_server.uri, "SEMSEARCH_COLLECTION": "deploy_job"}
    before = _snapshot(source), _snapshot(cache)
    command = [semsearch_bin(), *SERVICES["ingest"]["command"][1:]]
    result = subprocess.run(
        _read_only([source, cache], command), cwd=source, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Read-only" not in result.stderr
    assert (_snapshot(source), _snapshot(cache)) == before


def test_an_empty_read_only_model_cache_is_one_clear_error(tmp_path: Path) -> None:
    """A model the image did not prepare, in a cache nobody may write: an Unavailable naming the setting to change,
    not a traceback from deep inside the export."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache's parent should be: no write can succeed below it, even as root")
    settings = Settings(model_cache=str(blocker / "models"), backend="onnx", _env_file=None)
    with pytest.raises(ModelCacheUnwritable, match="SEMSEARCH_MODEL_CACHE"):
        Embedder.load(settings)
