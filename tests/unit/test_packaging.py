"""pyproject's explicit package list names every package of the tree (a non-editable install,
as the Docker image makes, ships only those)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP_LEVEL = (
    "streams",
    "schemas",
    "frontend",
    "history_processor",
    "matching_processor",
    "visibility_indexer",
    "worker_service",
)


def _packages_in_tree() -> set[str]:
    found = set()
    for top in (*(ROOT / name for name in TOP_LEVEL), ROOT / "sdk" / "strom"):
        if not top.is_dir():
            continue
        base = top.parent
        for init in top.rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(base).parts))
    return found


def test_every_package_of_the_tree_is_listed() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    missing = _packages_in_tree() - listed
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"
