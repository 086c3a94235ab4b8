"""Starts Strom's services (history, matching, visibility indexer, frontend, worker) as processes.

Used by `strom server start-dev` and by `strom.testing`; each service runs in its own process
and session, with its log in `<log_dir>/<service>.log`.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from schemas.topics import Topology
from strom._devserver.errors import ProcessExitedError
from strom._devserver.ports import check_ports_free, free_port
from strom._devserver.process import stop_first_on_exit, stop_tree

_READY_TIMEOUT_S = 120.0
RESTART_BACKOFF_MAX_S = 30.0
"""The longest wait before a crashed service is started again."""
RESTART_RESET_S = 60.0
"""A service that ran this long after a restart gets the shortest backoff again."""


@dataclass
class _Restart:
    """Restart bookkeeping of one service: attempt number, when to start it, when it started."""

    attempt: int
    at: float | None
    started: float


_STOP_TIMEOUT_S = 20.0

SERVICE_NAMES = ("frontend", "history", "matching", "visibility")
"""The services, in the order `strom server start-dev --metrics-port` numbers their ports."""


@dataclass
class ServiceSet:
    """The running services of one Strom cluster."""

    topology: Topology
    port: int
    log_dir: Path
    http_port: int = 0
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _restarts: dict[str, _Restart] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)
    metrics_ports: dict[str, int] = field(default_factory=dict)
    extra_args: dict[str, list[str]] = field(default_factory=dict)

    @property
    def history_state_dir(self) -> Path:
        """Root of the history processor's RocksDB stores."""
        return self.log_dir.parent / "history-state"

    @property
    def target(self) -> str:
        """Where Temporal clients connect."""
        return f"127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        """Base URL of Temporal's HTTP API ("" when it is off)."""
        return f"http://127.0.0.1:{self.http_port}" if self.http_port else ""

    @property
    def metrics_urls(self) -> dict[str, str]:
        """Prometheus endpoint of each service that serves metrics, by service name."""
        return {
            name: f"http://127.0.0.1:{port}/metrics"
            for name, port in self.metrics_ports.items()
            if port
        }

    @classmethod
    def start(
        cls,
        bootstrap: str,
        es_url: str,
        data_dir: Path,
        port: int = 7233,
        topology: Topology | None = None,
        http_port: int = 0,
        metrics_ports: Mapping[str, int] | None = None,
        service_args: Mapping[str, Sequence[str]] | None = None,
        matching_in_frontend: bool = False,
    ) -> ServiceSet:
        """Creates the topics, starts every service and waits until the frontend answers.

        ``http_port`` is the port of Temporal's HTTP API; 0 turns it off. ``metrics_ports``
        gives the Prometheus port of each service named in `SERVICE_NAMES` that serves
        metrics (a missing name or 0: none). ``service_args`` adds command-line arguments to
        the services it names ("history", "matching", "visibility", "frontend", "worker").
        With ``matching_in_frontend`` the matching member runs in the frontend's process
        (`strom._frontend_with_matching`): there is no "matching" process, its metrics are the
        frontend's, and its arguments are not used (the Kafka settings are the frontend's).

        Raises:
            PortInUseError: The frontend port is taken.
            ProcessExitedError: A service exited during start-up (its log tail is included).
        """
        check_ports_free([(port, "Temporal frontend port")], "Strom", "pass another port (--port)")
        if http_port:
            check_ports_free(
                [(http_port, "Temporal HTTP API port")], "Strom", "pass another --http-port"
            )
        metrics = {name: p for name, p in (metrics_ports or {}).items() if p}
        if matching_in_frontend:
            metrics.pop("matching", None)
        unknown = set(metrics) - set(SERVICE_NAMES)
        if unknown:
            raise ValueError(f"metrics ports for unknown services: {sorted(unknown)}")
        check_ports_free(
            [(p, f"{name} metrics port") for name, p in metrics.items()],
            "Strom",
            "pass other metrics ports (--metrics-port, or 0 for none)",
        )
        topology = topology or Topology()
        topology.ensure(bootstrap)
        log_dir = data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        services = cls(topology, port, log_dir, http_port, metrics_ports=metrics)
        services.extra_args = {name: list(args) for name, args in (service_args or {}).items()}
        stop_first_on_exit(services.stop)  # never left behind, even on SIGTERM of the caller
        common = ["--bootstrap", bootstrap, "--prefix", topology.prefix]
        # Every service runs on this machine: history reaches the callers' reply sockets,
        # and the callers reach history's command port.
        datagrams = ["--reply-datagram-host", "127.0.0.1"]
        try:
            services._spawn(
                "history",
                "history_processor",
                [
                    *common,
                    *("--state-dir", str(services.history_state_dir)),
                    *("--command-host", "127.0.0.1"),
                ],
            )
            if not matching_in_frontend:
                matching_args = ["--grpc-port", str(free_port()), "--reply-partition", "1"]
                services._spawn(
                    "matching", "matching_processor", [*common, *matching_args, *datagrams]
                )
            services._spawn("visibility", "visibility_indexer", [*common, "--es-url", es_url])
            ports = ["--port", str(port), "--http-port", str(http_port)]
            frontend_args = [*common, "--es-url", es_url, *ports, "--reply-partition", "0"]
            frontend_args += datagrams
            frontend = "strom._frontend_with_matching" if matching_in_frontend else "frontend"
            services._spawn("frontend", frontend, frontend_args)
            services.wait_ready()
            services._spawn("worker", "worker_service", ["--frontend", services.target, *common])
        except BaseException:
            services.stop()
            raise
        return services

    def _spawn(self, name: str, module: str, args: list[str]) -> None:
        if self.metrics_ports.get(name):
            args = [*args, "--metrics-port", str(self.metrics_ports[name])]
        args = [*args, *self.extra_args.get(name, ())]
        self.commands[name] = [sys.executable, "-m", module, *args]
        self.respawn(name)

    def respawn(self, name: str) -> None:
        """Starts service `name` (again, e.g. after a test killed it) with its first arguments."""
        log = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            self.commands[name],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def spawn_instance(self, name: str, instance: str, args: Sequence[str] = ()) -> str:
        """Starts another instance of service `name` beside the running one; returns its name.

        The instance runs the first one's command with `args` appended (a repeated option's
        last value wins), is named and logs as `<name>-<instance>`, and stops with the others.
        """
        other = f"{name}-{instance}"
        self.commands[other] = [*self.commands[name], *args]
        self.respawn(other)
        return other

    def kill(self, name: str) -> None:
        """SIGKILLs service `name` and waits until it is gone (a crash, for tests)."""
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait(60)

    def stop_service(self, name: str) -> None:
        """Stops service `name` gracefully (SIGTERM, SIGKILL after a timeout) and forgets it."""
        stop_tree(self.processes.pop(name), _STOP_TIMEOUT_S, f"Strom {name} service")

    def wait_ready(self) -> None:
        """Waits until the frontend listens on its ports (after `start` or a `respawn`).

        Raises:
            ProcessExitedError: A service exited, or the frontend did not listen in time.
        """
        deadline = time.monotonic() + _READY_TIMEOUT_S
        waiting = [port for port in (self.port, self.http_port) if port]
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with socket.create_connection(("127.0.0.1", waiting[0]), timeout=0.5):
                    waiting.pop(0)
                    if not waiting:
                        return
            except OSError:
                time.sleep(0.2)
        raise ProcessExitedError(
            f"the frontend did not listen on port {waiting[0]} within {_READY_TIMEOUT_S:.0f}s; "
            f"see {self.log_dir / 'frontend.log'}"
        )

    def check_alive(self) -> None:
        """Raises ProcessExitedError when a service has exited."""
        for name, popen in self.processes.items():
            if popen.poll() is not None:
                log = self.log_dir / f"{name}.log"
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                raise ProcessExitedError(
                    f"Strom's {name} service exited with code {popen.returncode}; "
                    f"its log is {log}:\n{tail}"
                )

    def restart_exited(self, now: float | None = None) -> list[str]:
        """Restarts services that exited, each with exponential backoff; says what it did.

        A service that exits waits 1 s, then 2, 4, ... up to `RESTART_BACKOFF_MAX_S` before it
        is started again; one that then runs for `RESTART_RESET_S` starts over at 1 s.

        Returns:
            One line per exit noticed and per restart, for the operator.
        """
        now = time.monotonic() if now is None else now
        said = []
        for name, popen in list(self.processes.items()):
            if popen.poll() is None:
                continue
            restart = self._restarts.get(name)
            if restart is None or restart.at is None:
                ran = now - (restart.started if restart else 0.0)
                attempt = 1 if restart is None or ran >= RESTART_RESET_S else restart.attempt + 1
                delay = min(RESTART_BACKOFF_MAX_S, 2.0 ** (attempt - 1))
                self._restarts[name] = _Restart(attempt, now + delay, now)
                said.append(
                    f"Strom's {name} service exited with code {popen.returncode}; restarting "
                    f"it in {delay:.0f}s (attempt {attempt}; log {self.log_dir / f'{name}.log'})"
                )
            elif now >= restart.at:
                self.respawn(name)
                self._restarts[name] = _Restart(restart.attempt, None, now)
                said.append(f"Strom's {name} service restarted")
        return said

    def stop(self) -> None:
        """Stops every service, frontend first; idempotent."""
        for name in reversed(list(self.processes)):
            stop_tree(self.processes[name], _STOP_TIMEOUT_S, f"Strom {name} service")
        self.processes = {}
