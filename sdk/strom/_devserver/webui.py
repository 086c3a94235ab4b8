"""Temporal's own Web UI server, built once from its Go module and pointed at Strom's frontend.

The UI is Temporal's `ui-server` (a Go program with the browser app embedded). It is not on any
registry as a binary, so the first use runs `go install` from the Go module proxy into the cache;
later starts reuse that binary and need no Go at all. The server gets a config written by Strom
rather than the module's `config/docker.yaml`: that one listens on every interface, fetches news
from the internet and reads some sixty `TEMPORAL_*` variables from the environment, and using it
would also tie the cached binary to a Go module cache that `go clean -modcache` empties.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from strom._devserver import fetch, paths
from strom._devserver.errors import FetchFailedError, GoNotFoundError
from strom._devserver.ports import HOST, check_ports_free, port_open
from strom._devserver.process import DEFAULT_STOP_TIMEOUT_S, ManagedProcess

log = logging.getLogger("strom.devserver")

UI_SERVER_MODULE = "github.com/temporalio/ui-server/v2"
# 2.56 and newer need Go >= 1.26.10; 2.55.0 builds with the Go 1.26.8 the project's machines have.
UI_SERVER_VERSION = "v2.55.0"
DEFAULT_UI_PORT = 8080
#: Where a Go toolchain often lives when it is not on PATH (the go.dev tarball's place).
FALLBACK_GO = ("/usr/local/go/bin/go",)
CONFIG_ENV = "strom"  # the server reads <root>/config/<env>.yaml

_BUILD_TIMEOUT_S = 1800.0
_BUILD_TAIL_LINES = 25
WHAT_THE_UI_IS = (
    "The Temporal Web UI (Temporal's own browser view of workflows, their event histories and "
    "pending activities)"
)
GO_HINT = (
    "Install Go 1.26.5 or newer (https://go.dev/dl/; unpack it into /usr/local and add "
    "/usr/local/go/bin to PATH), then start again; the first start builds the UI once "
    "(about 2 minutes) and caches it."
)


def ui_server_home(environ: Mapping[str, str] | None = None) -> Path:
    """Returns the cached UI server build: the `server` binary lives below it."""
    return paths.cache_root(environ) / f"ui-server-{UI_SERVER_VERSION}"


def find_go(environ: Mapping[str, str] | None = None) -> Path:
    """Returns the `go` command: the one on PATH, else one in a usual install place.

    Raises:
        GoNotFoundError: No Go toolchain; the message says what the UI is and how to get Go.
    """
    env = os.environ if environ is None else environ
    found = shutil.which("go", path=env.get("PATH"))
    if found is not None:
        return Path(found)
    for candidate in FALLBACK_GO:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    raise GoNotFoundError(
        f"{WHAT_THE_UI_IS} is built from Temporal's ui-server Go module, which needs a Go "
        f"toolchain, but `go` is not on PATH. {GO_HINT}"
    )


def build_ui_server(final: Path, go: Path | None = None) -> bool:
    """Makes sure `final/server` holds the built UI server; returns True if it built now.

    Raises:
        GoNotFoundError: It must build, and there is no Go toolchain.
        FetchFailedError: `go install` failed; the message holds the end of its output.
    """
    if paths.is_complete(final):
        return False
    go = go or find_go()

    def populate(tmp: Path) -> None:
        target = f"{UI_SERVER_MODULE}/cmd/server@{UI_SERVER_VERSION}"
        argv = [str(go), "install", target]
        log.info("Building the Temporal Web UI %s with Go (first run only)...", UI_SERVER_VERSION)
        started = time.monotonic()
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=_BUILD_TIMEOUT_S,
                check=False,
                env={**os.environ, "GOBIN": str(tmp)},
                cwd=tmp,  # outside any go.mod of the caller's, so no workspace applies
            )
        except subprocess.TimeoutExpired as exc:
            raise FetchFailedError(
                f"Building the Temporal Web UI took longer than {_BUILD_TIMEOUT_S:.0f} s; "
                "check the network (the Go module proxy) and retry."
            ) from exc
        if done.returncode != 0:
            tail = "\n".join(done.stdout.splitlines()[-_BUILD_TAIL_LINES:])
            raise FetchFailedError(
                f"Building the Temporal Web UI failed (`GOBIN={tmp} {' '.join(argv)}` exited "
                f"with {done.returncode}). Check the network (GOPROXY) and the Go version "
                f"(1.26.5+ is needed), then retry. Last lines of Go's output:\n{tail}"
            )
        if not (tmp / "server").is_file():
            raise FetchFailedError(f"`go install` finished but left no `server` binary in {tmp}.")
        log.info("Built the Temporal Web UI in %.1f s", time.monotonic() - started)

    return fetch.install_atomically(final, populate)


def render_ui_config(frontend: str, port: int) -> str:
    """Returns the UI server's YAML config: Strom's frontend, loopback only, nothing online.

    Args:
        frontend: host:port of the Temporal gRPC frontend the UI talks to.
        port: The HTTP port the UI listens on (on 127.0.0.1).
    """
    origins = [f"http://{HOST}:{port}", f"http://localhost:{port}"]
    settings: dict[str, object] = {
        "temporalGrpcAddress": frontend,
        "host": HOST,
        "port": port,
        "enableUi": True,
        "defaultNamespace": "default",
        # Offline and quiet: no news feed, no release check against the internet.
        "disableNewsFetch": True,
        "notifyOnNewVersion": False,
        "distribution": "strom",
        "hideLogs": False,
    }
    lines = ["# Written by strom's dev server at every start; edits are overwritten."]
    # JSON scalars are valid YAML, and quote whatever needs quoting.
    lines += [f"{key}: {json.dumps(value)}" for key, value in settings.items()]
    lines += [
        "cors:",
        # The UI calls its own server from the page's origin; its CSRF cookie must work over
        # plain http on loopback, as `temporal server start-dev` lets it.
        "  cookieInsecure: true",
        "  allowOrigins:",
        *(f"    - {json.dumps(origin)}" for origin in origins),
    ]
    return "\n".join(lines) + "\n"


class WebUi:
    """Temporal's Web UI server for one Strom frontend, its config in `data_dir/ui`.

    Args:
        data_dir: The cluster's data directory; the log goes to `data_dir/logs/ui.log`.
        frontend: host:port of Strom's Temporal gRPC frontend.
        port: The UI's HTTP port on 127.0.0.1.
    """

    def __init__(self, data_dir: Path, frontend: str, port: int = DEFAULT_UI_PORT) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.frontend = frontend
        self.port = port
        self._process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        """Where a browser opens the UI."""
        return f"http://{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where the UI server's output goes."""
        return self.data_dir / "logs" / "ui.log"

    @property
    def install_dir(self) -> Path:
        """The cached build (shared by all clusters)."""
        return ui_server_home()

    @property
    def process(self) -> ManagedProcess | None:
        """The UI server's process once started."""
        return self._process

    @property
    def running(self) -> bool:
        """Whether the server was started and is still alive."""
        return self._process is not None and self._process.running

    def check_prerequisites(self) -> None:
        """Fails fast, before any build: the port must be free, and Go there if a build is due.

        Raises:
            PortInUseError: The UI port is taken.
            GoNotFoundError: The UI is not built yet and there is no Go toolchain.
        """
        check_ports_free(
            [(self.port, "HTTP port")],
            "The Temporal Web UI",
            "choose another port with --ui-port, or skip the UI with --headless",
        )
        if not paths.is_complete(self.install_dir):
            find_go()

    def ensure_installed(self) -> bool:
        """Builds the UI server into the cache unless present; returns True if it built now."""
        return build_ui_server(self.install_dir)

    def start(self) -> None:
        """Starts the UI server (building it on first use) without waiting for it.

        Raises:
            DevServerError: Port taken, Go missing for the first build, or the build failed.
        """
        if self.running:
            raise RuntimeError(f"the Web UI on port {self.port} is already running")
        self.check_prerequisites()
        self.ensure_installed()
        root = self.data_dir / "ui"
        (root / "config").mkdir(parents=True, exist_ok=True)
        (root / "config" / f"{CONFIG_ENV}.yaml").write_text(
            render_ui_config(self.frontend, self.port)
        )
        argv = [str(self.install_dir / "server"), "-r", str(root), "-c", "config"]
        argv += ["-e", CONFIG_ENV, "start"]
        self._process = ManagedProcess("Temporal Web UI", argv, self.log_path, cwd=root)
        self._process.start()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Waits until the UI server answers its health check.

        Raises:
            ProcessExitedError: The server exited first (the message holds its log tail).
            NotHealthyError: Not ready within `timeout` seconds.
        """
        if self._process is None:
            raise RuntimeError("the Web UI was not started")
        self._process.wait_ready(self._probe, timeout)

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> None:
        """Stops the UI server (SIGTERM, then SIGKILL after `timeout`); idempotent."""
        if self._process is not None:
            self._process.stop(timeout)

    def _probe(self) -> bool:
        if not port_open(self.port):
            return False
        with urllib.request.urlopen(f"{self.url}/healthz", timeout=3) as response:
            return bool(response.status == 200)


def start_web_ui(data_dir: Path, frontend: str, port: int = DEFAULT_UI_PORT) -> WebUi | None:
    """Starts the UI for `strom server start-dev` and waits for it; None when Go is missing.

    Without Go (and without a cached build) it logs one warning saying how to get the UI and
    returns None, so the dev server runs on without it.

    Raises:
        DevServerError: The port is taken, the build failed, or the server did not come up;
            nothing is left running then.
    """
    ui = WebUi(data_dir, frontend, port)
    try:
        ui.check_prerequisites()
    except GoNotFoundError:
        log.warning(
            "Starting without the Temporal Web UI (the browser view of workflows and their "
            "histories): it is built once with Go, and `go` is not on PATH. %s",
            GO_HINT,
        )
        return None
    try:
        ui.start()
        ui.wait_ready()
    except BaseException:
        ui.stop()
        raise
    return ui
