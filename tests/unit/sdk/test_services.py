"""ServiceSet's supervision: a crashed service comes back with exponential backoff."""

from __future__ import annotations

import sys
from pathlib import Path

from schemas.topics import Topology
from strom._services import RESTART_BACKOFF_MAX_S, RESTART_RESET_S, ServiceSet


def _services(tmp_path: Path, exit_code: int) -> ServiceSet:
    services = ServiceSet(Topology(), 0, tmp_path)
    services.commands["history"] = [sys.executable, "-c", f"raise SystemExit({exit_code})"]
    services.respawn("history")
    services.processes["history"].wait(10)
    return services


def _restart_all(services: ServiceSet, now: float) -> list[str]:
    said = services.restart_exited(now)
    for popen in services.processes.values():
        popen.wait(10)
    return said


def test_exits_are_reported_and_restarted_with_doubling_backoff(tmp_path: Path) -> None:
    services = _services(tmp_path, 3)
    first = services.processes["history"]
    said = services.restart_exited(now=100.0)
    assert said == [
        f"Strom's history service exited with code 3; restarting it in 1s (attempt 1; "
        f"log {tmp_path / 'history.log'})"
    ]
    assert services.restart_exited(now=100.5) == [], "not before its backoff"
    assert _restart_all(services, 101.0) == ["Strom's history service restarted"]
    assert services.processes["history"] is not first
    # It crashes again at once: the wait doubles, up to the maximum.
    delays = []
    now = 101.0
    for _ in range(8):
        (line,) = services.restart_exited(now)
        delays.append(float(line.split("restarting it in ")[1].split("s")[0]))
        now += delays[-1]
        _restart_all(services, now)
    assert delays == [2, 4, 8, 16, 30, 30, 30, 30]
    assert RESTART_BACKOFF_MAX_S == 30


def test_a_service_that_ran_long_enough_starts_over_at_one_second(tmp_path: Path) -> None:
    services = _services(tmp_path, 1)
    services.restart_exited(now=0.0)
    _restart_all(services, 1.0)
    services.restart_exited(now=2.0)  # attempt 2
    _restart_all(services, 4.0)
    (line,) = services.restart_exited(now=4.0 + RESTART_RESET_S)
    assert "restarting it in 1s (attempt 1;" in line


def test_running_services_are_left_alone(tmp_path: Path) -> None:
    services = ServiceSet(Topology(), 0, tmp_path)
    services.commands["frontend"] = [sys.executable, "-c", "import time; time.sleep(30)"]
    services.respawn("frontend")
    try:
        assert services.restart_exited(now=1.0) == []
    finally:
        services.processes["frontend"].kill()
        services.processes["frontend"].wait(10)
