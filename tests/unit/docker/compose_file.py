"""Reads docker/compose.yaml as Docker Compose would, and finds what each container finally runs."""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
DOCKER_DIR = REPO / "docker"
COMPOSE_FILE = DOCKER_DIR / "compose.yaml"
STROM_MODULES = frozenset(
    {
        "frontend",
        "history_processor",
        "matching_processor",
        "visibility_indexer",
        "worker_service",
        "replicator",
    }
)

# Records the argv `python` was started with (NUL-separated), instead of running Python.
_FAKE_PYTHON = textwrap.dedent(
    """\
    #!/bin/sh
    printf '%s\\0' python "$@" > "$STROM_TEST_ARGV"
    """
)


def load_compose() -> dict[str, Any]:
    """The compose file as a mapping (YAML anchors and merge keys resolved, as Compose does)."""
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict), f"{COMPOSE_FILE} is not a YAML mapping"
    return loaded


def interpolate(value: str) -> str:
    """Compose's interpolation of one string: ``$$`` is a literal ``$`` for the container.

    Raises:
        AssertionError: The string would take a value from the host's environment (``$VAR``,
            ``${VAR}``); this compose file must mean the same on every host.
    """
    escaped = value.replace("$$", "\0")
    assert "$" not in escaped, f"compose would interpolate {value!r} from the host's environment"
    return escaped.replace("\0", "$")


def environment(service: dict[str, Any]) -> dict[str, str]:
    """The service's container environment (mapping or ``KEY=VALUE`` list form)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): interpolate(str(value)) for key, value in env.items()}


def container_argv(service: dict[str, Any], hostname: str, work_dir: Path) -> list[str]:
    """The argv the service's container finally executes, with its shell expansions done.

    A ``sh -c`` command runs in a real shell with the container's environment and ``HOSTNAME``
    (Docker sets it to the container id); a stand-in ``python`` on ``PATH`` records its argv.
    """
    command = [interpolate(str(part)) for part in service["command"]]
    if command[:2] != ["sh", "-c"]:
        return command  # exec form: Docker runs it as written, without a shell
    bin_dir = work_dir / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "python"
    fake.write_text(_FAKE_PYTHON)
    fake.chmod(0o755)
    record = work_dir / f"argv-{hostname}"
    env = {
        **environment(service),
        "HOSTNAME": hostname,
        "PATH": f"{bin_dir}{os.pathsep}{os.defpath}",
        "STROM_TEST_ARGV": str(record),
    }
    shell = shutil.which("sh")
    assert shell is not None, "no sh on this machine"
    done = subprocess.run(
        [shell, "-c", *command[2:]], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, f"the command's shell failed: {done.stderr}"
    return record.read_text().split("\0")[:-1]


def strom_command(service: dict[str, Any], hostname: str, work_dir: Path) -> tuple[str, list[str]]:
    """``(module, args)`` of a service whose container runs ``python -m <module> <args>``."""
    argv = container_argv(service, hostname, work_dir)
    assert argv[:2] == ["python", "-m"], f"expected `python -m <module> ...`, got {argv}"
    return argv[2], argv[3:]


def parse_service_args(module: str, args: list[str]) -> argparse.Namespace:
    """Parses ``args`` with the module's own command-line parser, as ``python -m`` would.

    Raises:
        AssertionError: The parser rejects the arguments (argparse's message is on stderr).
    """
    main = importlib.import_module(f"{module}.__main__")
    parse = main.build_parser().parse_args if hasattr(main, "build_parser") else main.parse_args
    try:
        parsed = parse(args)
    except SystemExit as exc:
        raise AssertionError(f"python -m {module} rejects {args} (exit {exc.code})") from exc
    assert isinstance(parsed, argparse.Namespace)
    return parsed


def host_path(service: dict[str, Any], container_path: str) -> Path:
    """The file on this machine a bind mount of the service shows at ``container_path``."""
    for volume in service.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if not source.startswith((".", "/")):
            continue  # a named volume, not a bind mount
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            return (DOCKER_DIR / source / container_path[len(target) :].lstrip("/")).resolve()
    raise AssertionError(f"no bind mount of the service shows {container_path}")
