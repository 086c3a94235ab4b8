"""A single Elasticsearch node from the integ-test zip, run as an unprivileged user under root."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from pathlib import Path

from strom._devserver import fetch, paths
from strom._devserver.java import find_java_home
from strom._devserver.ports import HOST, check_ports_free, port_open
from strom._devserver.process import DEFAULT_STOP_TIMEOUT_S, ManagedProcess
from strom._devserver.unprivileged import ES_USER, as_user_argv, prepare_for_user

# The quick compiler only: C2 was still compiling after thousands of workflows (2-6 ms of
# CPU per workflow, more than the node's own work), and the C1 code costs less than that.
# (The Kafka node runs C1 only too: `kafka.KAFKA_JAVA_OPTS`.)
ES_JAVA_OPTS = "-Xms512m -Xmx512m -XX:TieredStopAtLevel=1"


def render_elasticsearch_yml(
    base: str, http_port: int, transport_port: int, data: Path, logs: Path
) -> str:
    """Returns the zip's elasticsearch.yml with the dev node's settings appended."""
    block = "\n".join(
        [
            "",
            "# Added by strom's dev server at every start; edits below are overwritten.",
            f"network.host: {HOST}",
            f"http.port: {http_port}",
            f"transport.port: {transport_port}",
            "discovery.type: single-node",
            "xpack.security.enabled: false",
            # A nearly full developer disk must not turn the indices read-only.
            "cluster.routing.allocation.disk.threshold_enabled: false",
            f"path.data: {data}",
            f"path.logs: {logs}",
        ]
    )
    return base.rstrip("\n") + "\n" + block + "\n"


class ElasticsearchNode:
    """A real single Elasticsearch node whose data, config copy and logs live in `data_dir`.

    Elasticsearch refuses to run as root; under root the node runs as the system user
    `strom-es`, created on first use, which is given the install and `data_dir`.

    Args:
        data_dir: Holds `config/` (a copy of the install's), `data/`, `logs/` and the console log.
        http_port: The REST port clients use.
        transport_port: The node-to-node port (unused by clients, but bound).
    """

    def __init__(self, data_dir: Path, http_port: int = 19200, transport_port: int = 19300) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.http_port = http_port
        self.transport_port = transport_port
        self._process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        """The base URL for HTTP clients."""
        return f"http://{HOST}:{self.http_port}"

    @property
    def log_path(self) -> Path:
        """Where the node's console output goes (its own log files are in `data_dir/logs`)."""
        return self.data_dir / "elasticsearch.log"

    @property
    def install_dir(self) -> Path:
        """The cached, unpacked Elasticsearch (shared by all nodes)."""
        return paths.elasticsearch_home()

    @property
    def running(self) -> bool:
        """Whether the node's process was started and is still alive."""
        return self._process is not None and self._process.running

    @property
    def process(self) -> ManagedProcess | None:
        """The node's process once started."""
        return self._process

    def check_prerequisites(self) -> None:
        """Fails fast, before any download: Java must exist and the ports must be free.

        Raises:
            JavaNotFoundError: No Java runtime.
            PortInUseError: The HTTP or transport port is taken.
        """
        find_java_home()
        check_ports_free(
            [(self.http_port, "HTTP port"), (self.transport_port, "transport port")],
            "Elasticsearch",
            "use a node that is already running by setting STROM_ES_URL, "
            "or choose other ports with --es-port",
        )

    def ensure_installed(self) -> bool:
        """Fetches and unpacks Elasticsearch into the cache unless present; True if it fetched."""
        return fetch.fetch_elasticsearch(self.install_dir)

    def start(self, fresh: bool = False) -> None:
        """Starts the node without waiting for it.

        Args:
            fresh: Wipe `data_dir` first: no indices, no templates.

        Raises:
            DevServerError: Java missing, port taken, fetch failed, user setup failed.
        """
        if self.running:
            raise RuntimeError(f"Elasticsearch in {self.data_dir} is already running")
        self.check_prerequisites()
        java_home = find_java_home()
        if fresh and self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self.ensure_installed()
        config = self._write_config()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "HOME": str(self.data_dir),
            "ES_JAVA_HOME": str(java_home),
            "ES_PATH_CONF": str(config),
            "ES_JAVA_OPTS": ES_JAVA_OPTS,
            "ES_TMPDIR": str(self.data_dir / "tmp"),
        }
        argv = [str(self.install_dir / "bin" / "elasticsearch")]
        if os.geteuid() == 0:
            prepare_for_user(ES_USER, owned=[self.install_dir, self.data_dir])
            argv = as_user_argv(ES_USER, argv, env)
        self._process = ManagedProcess("Elasticsearch", argv, self.log_path, env=env)
        self._process.start()

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Waits until GET /_cluster/health answers green or yellow.

        The integ-test zip has no `GET /`, so the health endpoint is the readiness check.

        Raises:
            ProcessExitedError: The node exited first (the message holds its log tail).
            NotHealthyError: Not healthy within `timeout` seconds.
        """
        if self._process is None:
            raise RuntimeError("Elasticsearch was not started")
        self._process.wait_ready(self._probe, timeout, interval=0.5)

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> None:
        """Stops the node and its launcher (SIGTERM, then SIGKILL after `timeout`); idempotent."""
        if self._process is not None:
            self._process.stop(timeout)

    def _write_config(self) -> Path:
        config = self.data_dir / "config"
        for sub in ("data", "logs", "tmp"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        # A per-node copy keeps the shared install untouched, so nodes may use other ports.
        shutil.copytree(self.install_dir / "config", config, dirs_exist_ok=True)
        base = (self.install_dir / "config" / "elasticsearch.yml").read_text()
        (config / "elasticsearch.yml").write_text(
            render_elasticsearch_yml(
                base,
                self.http_port,
                self.transport_port,
                self.data_dir / "data",
                self.data_dir / "logs",
            )
        )
        return config

    def _probe(self) -> bool:
        if not port_open(self.http_port):
            return False
        request = urllib.request.Request(f"{self.url}/_cluster/health?timeout=1s")
        with urllib.request.urlopen(request, timeout=3) as response:
            try:
                health = json.load(response)
            except ValueError:  # a half-started node may answer with something else
                return False
        return isinstance(health, dict) and health.get("status") in ("green", "yellow")
