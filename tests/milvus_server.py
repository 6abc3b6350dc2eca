"""A real Milvus server for the `server`-marked tests: Milvus standalone 2.3.5 from the PyPI package `milvus`.

The package's `milvus-server` launcher unpacks the Milvus binaries into its data directory and runs
`milvus run standalone` with embedded etcd and local storage. We drive the same launcher class from a tiny script
rather than the `milvus-server` command because the command cannot set the metrics/health port (it takes the first
free one from 9091, racing any other Milvus on the machine) and treats every port flag as "this or the next free
one", so a restarted server could come back on other ports. Here every port is fixed, and the script exits when
Milvus does.

Its ports come from `free_port`, outside the kernel's ephemeral range. A first start that finds one taken
anyway (another process bound it in between) retries on new ports; a restart keeps its ports, as a real server
would.

Each server gets its own temp directory, is started in a new process group, and is stopped by signalling that
group only: SIGTERM, then SIGKILL after a grace period (Milvus can take long to stop on SIGTERM). The unpacked
binaries (~250 MB) are hard-linked from the first server's directory into later ones.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import free_port

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from pymilvus import MilvusClient, MilvusException

#: Every port Milvus standalone listens on, as the launcher's config keys; `metrics_port` is its HTTP health port,
#: `etcd_peer_port` its embedded etcd's peer port (fixed at 2380 unless an etcd config file says otherwise, which
#: would keep a second Milvus on the machine from starting).
PORT_KEYS = (
    "proxy_port",
    "etcd_port",
    "root_coord_port",
    "proxy_internal_port",
    "query_coord_port",
    "query_node_port",
    "index_coord_port",
    "index_node_port",
    "data_coord_port",
    "data_node_port",
    "metrics_port",
    "etcd_peer_port",
)
#: Runs the `milvus` package's launcher with exact ports (it raises if one is taken) and exits with Milvus. Its
#: port check binds without SO_REUSEADDR, which fails for a minute after a crash (TIME_WAIT) although Milvus itself
#: (Go sets SO_REUSEADDR) could listen: the check here binds the way Milvus will.
LAUNCHER = """
import json, os, socket, sys
import milvus
from milvus import MilvusServer, MilvusServerConfig

def try_bind_port(self, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        return sock
    except OSError:
        sock.close()
        return None

MilvusServerConfig.try_bind_port = try_bind_port
options, LAUNCHED = json.loads(sys.argv[1]), sys.argv[2]
metrics_port = options.pop("metrics_port")
client, peer = f"http://127.0.0.1:{options['etcd_port']}", f"http://127.0.0.1:{options.pop('etcd_peer_port')}"
etcd_config = os.path.join(options["data_dir"], "embed-etcd.yaml")
os.makedirs(options["data_dir"], exist_ok=True)
with open(etcd_config, "w") as config:
    config.write(f"listen-client-urls: {client}\\nadvertise-client-urls: {client}\\nlisten-peer-urls: {peer}\\n")
    config.write(f"initial-advertise-peer-urls: {peer}\\ninitial-cluster: default={peer}\\n")
os.environ["ETCD_CONFIG_PATH"] = etcd_config  # Milvus reads etcd.config.path from the environment too
config = MilvusServerConfig(**options)
# The package sets its glog config's path only when it uses its own template.
config.glog_conf_file = os.path.join(os.path.dirname(milvus.__file__), "data", "glog.conf")
server = MilvusServer(config, wait_for_started=False)
server.webservice_port = metrics_port
server.start()
print(LAUNCHED, flush=True)
sys.exit(server.server_proc.wait())
"""
#: Milvus's config template lines the tests' server changes: shorter intervals change when Milvus looks, not what
#: it does. A Strong read waits for the next time tick (up to 0.2 s by default, and ingest makes many); the query
#: coordinator's checks start a load sooner. (2.3.5's collection observer looks once a second whatever the config,
#: so a new collection still takes ~2.5 s to load: `MilvusStore.create` loads its two side by side.)
TUNED_TEMPLATE_LINES = {
    "  checkInterval: 1000": "  checkInterval: 100",
    "  distPullInterval: 500": "  distPullInterval: 100",
    "  timeTickInterval: 200 # ms, the interval that proxy synchronize the time tick": "  timeTickInterval: 50",
}
#: What the launcher prints once its port checks passed and Milvus runs.
LAUNCHED = "launcher: ports bound, milvus started"
START_TIMEOUT = 120.0
STOP_GRACE = 5.0
#: Fresh ports a first start tries before giving up, when the launcher finds one taken.
START_ATTEMPTS = 3


def check_installed() -> None:
    if importlib.util.find_spec("milvus") is None:
        pytest.fail("the `milvus` package (Milvus standalone) is not installed: `make install` installs the dev extra")


@dataclass
class MilvusServer:
    """One Milvus standalone process tree on fixed ports and a fixed data directory (so it can be restarted)."""

    data_dir: Path
    binaries: Path  # where unpacked binaries are shared between servers
    ports: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    started: bool = False
    _log_offset: int = 0

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.ports['proxy_port']}"

    def start(self) -> None:
        """Start (or restart, on the same ports and data) and wait until it lists collections."""
        assert self.process is None, "already running"
        check_installed()
        self._link_binaries()
        for attempt in range(1, START_ATTEMPTS + 1):
            self._launch()
            if self.started or attempt == START_ATTEMPTS or not self._exited_on_a_taken_port():
                break
            self.process = None
            self.ports = listening_ports()
        self._wait_until_serving()
        self.started = True
        self._share_binaries()

    def _launch(self) -> None:
        options = {"data_dir": str(self.data_dir), "template": str(self._tuned_template()), **self.ports}
        args = [sys.executable, "-c", LAUNCHER, json.dumps(options), LAUNCHED]
        self._log_offset = self._launcher_log.stat().st_size if self._launcher_log.exists() else 0
        log = open(self._launcher_log, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def _tuned_template(self) -> Path:
        """The `milvus` package's config template with `TUNED_TEMPLATE_LINES` applied, beside the data directory."""
        import milvus

        template = Path(milvus.__file__).parent / "data" / "config.yaml.template"
        lines = template.read_text().split("\n")
        for old, new in TUNED_TEMPLATE_LINES.items():
            assert lines.count(old) == 1, f"the milvus package's config template changed: {old!r}"
            lines[lines.index(old)] = new
        tuned = self.data_dir.parent / f"{self.data_dir.name}.config.yaml.template"
        tuned.write_text("\n".join(lines))
        return tuned

    @property
    def _launcher_log(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.launcher.log"

    def _exited_on_a_taken_port(self) -> bool:
        """Wait for the launcher's port check (it runs before Milvus starts) and say whether it failed."""
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            exited = self.process.poll() is not None
            output = self._launcher_log.read_bytes()[self._log_offset :].decode(errors="replace")
            if LAUNCHED in output:
                return False
            if exited:
                return "but bind failed" in output
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        """SIGTERM the process group we started, SIGKILL it after STOP_GRACE seconds."""
        if self.process is None:
            return
        self._signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_GRACE)
        self.kill()

    def kill(self) -> None:
        """SIGKILL the whole process group at once (a crash); the data directory stays for a restart."""
        if self.process is None:
            return
        self._signal(signal.SIGKILL)
        self.process.wait()
        self._wait_for_group_exit()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self) -> MilvusClient:
        return MilvusClient(uri=self.uri, timeout=10)

    def _signal(self, sig: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)  # start_new_session: the group id is the launcher's pid

    def _wait_for_group_exit(self) -> None:
        """The milvus binary is the launcher's child in the same group: wait until the group is empty, so the
        ports are free again for a restart."""
        assert self.process is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def _wait_until_serving(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        last_error = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"milvus-server exited with {self.process.returncode}: {self._log_tail()}")
            try:
                client = MilvusClient(uri=self.uri, timeout=2)
                try:
                    client.list_collections(timeout=2)
                    return
                finally:
                    client.close()
            except MilvusException as exc:
                last_error = str(exc)
            time.sleep(0.5)
        self.stop()
        pytest.fail(f"Milvus did not answer on {self.uri} within {START_TIMEOUT} s: {last_error} {self._log_tail()}")

    def _log_tail(self) -> str:
        logs = sorted(self.data_dir.parent.glob(f"{self.data_dir.name}.launcher.log"))
        logs += sorted((self.data_dir / "logs").glob("milvus-std*.log"))
        return " | ".join(path.read_text(errors="replace")[-1500:] for path in logs if path.exists())

    def _link_binaries(self) -> None:
        target = self.data_dir / "bin"
        if target.exists() or not any(self.binaries.iterdir()):
            return
        target.mkdir(parents=True)
        for path in self.binaries.iterdir():
            os.link(path, target / path.name)

    def _share_binaries(self) -> None:
        if any(self.binaries.iterdir()):
            return
        for path in (self.data_dir / "bin").iterdir():
            os.link(path, self.binaries / path.name)


def listening_ports() -> dict[str, int]:
    """A distinct free port for each key (see `free_port` for why not the kernel's pick)."""
    ports: dict[str, int] = {}
    for key in PORT_KEYS:
        ports[key] = free_port(taken=frozenset(ports.values()))
    return ports


def new_server(root: Path, binaries: Path) -> MilvusServer:
    root.mkdir(parents=True, exist_ok=True)
    return MilvusServer(data_dir=root / "milvus", binaries=binaries, ports=listening_ports())


@pytest.fixture(scope="session")
def milvus_binaries(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("milvus-bin")


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory, milvus_binaries: Path) -> Iterator[MilvusServer]:
    """One Milvus server for the whole session; tests use their own collection names on it."""
    server = new_server(tmp_path_factory.mktemp("milvus-session"), milvus_binaries)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_milvus_server(tmp_path: Path, milvus_binaries: Path) -> Iterator[MilvusServer]:
    """A Milvus server of the test's own, for tests that kill or restart it."""
    server = new_server(tmp_path / "own", milvus_binaries)
    server.start()
    yield server
    server.stop()
