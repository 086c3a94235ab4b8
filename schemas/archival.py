"""Archival: where a namespace's archived histories and visibility records live, and how.

The worker service writes a run's history and its visibility record before retention deletes
it; the frontend reads them back (GetWorkflowExecutionHistory of a deleted run,
ListArchivedWorkflowExecutions). Objects are addressed by keys that suit an object store as
well as a folder (``<namespace id>/history/<workflow id>/<run id>.history``,
``<namespace id>/visibility/<close time>_<run id>.visibility``); ``store_for`` picks the store of a
URI's scheme, of which Strom has ``file://``.

Contract:
    - ``put`` must replace an object whole (a reader never sees half of one).
    - Values are protobuf bytes: ``temporal.api.history.v1.History`` and
      ``temporal.api.workflow.v1.WorkflowExecutionInfo``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, unquote, urlparse

HISTORY_SUFFIX = ".history"
VISIBILITY_SUFFIX = ".visibility"


class ArchivalError(Exception):
    """An archival URI Strom cannot use, or a store that failed."""


class ArchiveStore(Protocol):
    """Objects by key: the layout every archival backend shares."""

    def put(self, key: str, data: bytes) -> None:
        """Stores ``data`` under ``key``, replacing any object there."""
        ...

    def get(self, key: str) -> bytes | None:
        """The object under ``key``, None when there is none."""
        ...

    def list(self, prefix: str) -> list[str]:
        """The keys that start with ``prefix`` (a folder-like prefix ending in ``/``)."""
        ...


class FileStore:
    """An ArchiveStore in a local folder: a key is a relative path."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a reader sees the old object or the new one, never half.
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def list(self, prefix: str) -> list[str]:
        folder = self._path(prefix)
        if not folder.is_dir():
            return []
        return sorted(
            prefix + entry.name
            for entry in folder.iterdir()
            if entry.is_file() and not entry.name.startswith(".tmp-")
        )

    def _path(self, key: str) -> Path:
        parts = [part for part in key.split("/") if part]
        if any(part in (".", "..") for part in parts):
            raise ArchivalError(f"archive key {key!r} leaves the archive folder")
        return self.root.joinpath(*parts)


def store_for(uri: str) -> ArchiveStore:
    """The store of an archival URI.

    Raises:
        ArchivalError: The scheme is not one Strom archives to, or the path is not absolute.
    """
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise ArchivalError(f"archival URI {uri!r}: Strom archives to file:// URIs only")
    path = unquote(parsed.netloc + parsed.path)
    if not path.startswith("/"):
        raise ArchivalError(f"archival URI {uri!r}: the path must be absolute")
    return FileStore(Path(path))


def _segment(text: str) -> str:
    # Any byte may be in a workflow id: escaped, it is one path segment and never "." or "..".
    return quote(text, safe="").replace(".", "%2E")


def history_key(namespace_id: str, workflow_id: str, run_id: str) -> str:
    """The key of a run's archived history."""
    return (
        f"{_segment(namespace_id)}/history/{_segment(workflow_id)}/"
        f"{_segment(run_id)}{HISTORY_SUFFIX}"
    )


def visibility_prefix(namespace_id: str) -> str:
    """The prefix of every archived visibility record of a namespace."""
    return f"{_segment(namespace_id)}/visibility/"


def visibility_key(namespace_id: str, close_time_ns: int, run_id: str) -> str:
    """The key of a run's archived visibility record; keys sort by close time."""
    name = f"{close_time_ns:020d}_{_segment(run_id)}{VISIBILITY_SUFFIX}"
    return visibility_prefix(namespace_id) + name
