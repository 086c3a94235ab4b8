"""Child server processes: spawn in their own session, wait until healthy, stop the whole tree.

Contracts:
- Every process started here runs in its own session (`start_new_session=True`), so a Ctrl-C
  in the developer's terminal reaches only the supervisor, which then stops the children itself.
- `stop()` terminates the leader's process group *and* every descendant found in /proc, because a
  descendant may have left the group (`su -c` starts its command in a new session).
- Every live process is stopped by an `atexit` handler and, unless the application installed
  its own SIGTERM handler, on SIGTERM. A SIGKILL of the supervisor cannot be caught: then the
  children survive and must be stopped by hand.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import FrameType

from strom._devserver.errors import NotHealthyError, ProcessExitedError

log = logging.getLogger("strom.devserver")

LOG_TAIL_LINES = 30
DEFAULT_STOP_TIMEOUT_S = 30.0

_live: set[ManagedProcess] = set()
_live_lock = threading.Lock()
_handlers_installed = False


def read_stat(pid: int) -> tuple[int, int, str] | None:
    """Returns (parent pid, start time in ticks, state) of a live process, None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces; fields restart after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[19]), fields[0]


def descendants(pid: int) -> list[tuple[int, int]]:
    """Returns (pid, start time) of every live descendant of `pid`, from a /proc snapshot."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = read_stat(int(entry))
        if stat is not None:
            children.setdefault(stat[0], []).append((int(entry), stat[1]))
    found: list[tuple[int, int]] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def _alive(pid: int, start_time: int) -> bool:
    stat = read_stat(pid)
    # Same pid and start time: not a recycled pid. A zombie has already exited.
    return stat is not None and stat[1] == start_time and stat[2] != "Z"


def _signal_tree(leader: int, tree: Sequence[tuple[int, int]], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader, sig)
    for pid, start_time in tree:
        if _alive(pid, start_time):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)


def tail_lines(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Returns the last `lines` lines of a text file ('' if it does not exist)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 256 * 1024))
            data = handle.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


class ManagedProcess:
    """One server process whose output goes to a log file, stopped with its whole tree.

    Args:
        name: Human name for messages ("Kafka", "Elasticsearch").
        argv: The command.
        log_path: Receives stdout and stderr; the previous run's log is kept as `<name>.1`.
        env: The environment; the supervisor's when omitted.
        cwd: The working directory.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None
        self._tree: dict[int, int] = {}
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The leader's pid, None before `start()`."""
        return self._popen.pid if self._popen is not None else None

    def poll(self) -> int | None:
        """Returns the leader's exit code, or None while it runs (or before `start()`)."""
        return self._popen.poll() if self._popen is not None else None

    @property
    def running(self) -> bool:
        """Whether the leader was started and has not exited."""
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> None:
        """Spawns the process in a new session; must not be called twice."""
        if self._popen is not None:
            raise RuntimeError(f"{self.name} was already started")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self.log_path.exists():
            self.log_path.replace(self.log_path.with_name(self.log_path.name + ".1"))
        _install_handlers()
        with open(self.log_path, "wb") as out:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        with _live_lock:
            _live.add(self)

    def wait_ready(self, probe: Callable[[], bool], timeout: float, interval: float = 0.2) -> None:
        """Polls `probe` until it returns True; the process keeps running on failure.

        Raises:
            ProcessExitedError: The process exited first.
            NotHealthyError: `probe` stayed False (or raised OSError) for `timeout` seconds.
        """
        if self._popen is None:
            raise RuntimeError(f"{self.name} was not started")
        deadline = time.monotonic() + timeout
        while True:
            code = self._popen.poll()
            if code is not None:
                raise ProcessExitedError(
                    f"{self.name} exited with code {code} before it became healthy. "
                    f"Its log is {self.log_path}; last lines:\n{self.log_tail()}"
                )
            with contextlib.suppress(OSError):
                if probe():
                    self._remember_tree()
                    return
            if time.monotonic() >= deadline:
                raise NotHealthyError(
                    f"{self.name} (pid {self._popen.pid}) did not become healthy within "
                    f"{timeout:.0f} s. Its log is {self.log_path}; last lines:\n{self.log_tail()}"
                )
            self._remember_tree()
            time.sleep(interval)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """Returns the last lines of the log file."""
        return tail_lines(self.log_path, lines)

    def _remember_tree(self) -> None:
        # Remembered while the leader lives: after it dies, orphans are re-parented away.
        if self._popen is not None and self._popen.poll() is None:
            self._tree.update(descendants(self._popen.pid))

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> None:
        """SIGTERM to the whole tree, wait up to `timeout`, then SIGKILL; idempotent."""
        with self._lock:
            if self._popen is None:
                return
            self._remember_tree()
            stop_tree(self._popen, timeout, self.name, self._tree.items())
            with _live_lock:
                _live.discard(self)


def stop_tree(
    popen: subprocess.Popen[bytes],
    timeout: float = DEFAULT_STOP_TIMEOUT_S,
    name: str = "process",
    known: Iterable[tuple[int, int]] = (),
) -> None:
    """Stops `popen`, its process group and all its descendants: SIGTERM, wait, SIGKILL.

    Args:
        popen: A process started with `start_new_session=True`.
        timeout: Seconds to wait after SIGTERM before SIGKILL.
        name: For the warning logged when SIGKILL is needed.
        known: (pid, start time) of descendants seen earlier, which may have been re-parented.
    """
    tree = dict(known)
    if popen.poll() is None:
        tree.update(descendants(popen.pid))
    members = list(tree.items())
    _signal_tree(popen.pid, members, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen.poll() is not None and not any(_alive(p, s) for p, s in members):
            break
        time.sleep(0.05)
    else:
        log.warning("%s did not stop within %.0f s: killing it", name, timeout)
    _signal_tree(popen.pid, members, signal.SIGKILL)
    popen.wait()


_first_stops: list[Callable[[], None]] = []


def stop_first_on_exit(stop: Callable[[], None]) -> None:
    """Has `stop_all` (atexit, SIGTERM) call `stop` before stopping this module's processes.

    For processes started elsewhere that depend on them (Strom's services on Kafka), so that
    they too are never left behind. `stop` must be idempotent.
    """
    _install_handlers()
    with _live_lock:
        _first_stops.append(stop)


def stop_all(timeout: float = 10.0) -> None:
    """Stops every live process started by this module (the atexit and SIGTERM path)."""
    with _live_lock:
        first = list(_first_stops)
    for stop in first:
        with contextlib.suppress(Exception):
            stop()
    with _live_lock:
        procs = list(_live)
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.stop(timeout)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    stop_all()
    # Die of SIGTERM as if no handler had been installed, so the exit status stays honest.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_handlers() -> None:
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(stop_all)
    # Only the main thread may set handlers; an application's own handler wins.
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError):
            if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _on_sigterm)
