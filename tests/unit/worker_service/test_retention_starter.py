"""Which retention and reclaim workflows the worker service starts, and its retention flags."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from schemas import retention
from worker_service.retention import starter
from worker_service.retention.starter import (
    RetentionSettings,
    add_retention_arguments,
    retention_settings,
)


class _Recorder:
    def __init__(self, deleted: dict[str, str], failing: set[str]) -> None:
        self.deleted = deleted
        self.failing = failing
        self.retention: list[str] = []
        self.reclaim: list[tuple[str, str]] = []

    async def ensure_retention(self, _client: Any, name: str, _settings: Any) -> None:
        if name in self.failing:
            raise RuntimeError("frontend busy")
        self.retention.append(name)

    async def ensure_reclaim(self, _client: Any, name: str, ns_id: str, _settings: Any) -> None:
        self.reclaim.append((name, ns_id))

    async def deleted_namespaces(self, _client: Any) -> dict[str, str]:
        return self.deleted


def _patch(monkeypatch: pytest.MonkeyPatch, recorder: _Recorder) -> None:
    for name in ("ensure_retention", "ensure_reclaim", "deleted_namespaces"):
        monkeypatch.setattr(starter, name, getattr(recorder, name))


async def test_retention_everywhere_reclaim_for_deleted(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _Recorder({"shop-deleted-01234": "0123456789"}, failing={"a"})
    _patch(monkeypatch, recorder)
    names = {"a", "b", retention.SYSTEM_NAMESPACE}
    await starter.ensure_all(object(), names, RetentionSettings())  # type: ignore[arg-type]
    # A failing start is logged and does not stop the others.
    assert recorder.retention == ["b", retention.SYSTEM_NAMESPACE]
    assert recorder.reclaim == [("shop-deleted-01234", "0123456789")]


async def test_no_reclaim_without_the_system_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _Recorder({"shop-deleted-01234": "0123456789"}, failing=set())
    _patch(monkeypatch, recorder)
    await starter.ensure_all(object(), {"default"}, RetentionSettings())  # type: ignore[arg-type]
    assert recorder.retention == ["default"]
    assert recorder.reclaim == []


def _settings(*argv: str) -> RetentionSettings:
    parser = argparse.ArgumentParser()
    add_retention_arguments(parser)
    return retention_settings(parser.parse_args(list(argv)))


def test_retention_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(retention.SCAN_INTERVAL_ENV, raising=False)
    assert _settings() == RetentionSettings()
    assert _settings("--retention-scan-interval", "30s").scan_interval_s == 30.0
    monkeypatch.setenv(retention.SCAN_INTERVAL_ENV, "2m")
    assert _settings().scan_interval_s == 120.0
    custom = _settings("--retention-batch-size", "7", "--retention-deletes-per-second", "3")
    assert (custom.batch_size, custom.deletes_per_second) == (7, 3.0)


@pytest.mark.parametrize(
    "argv",
    [
        ("--retention-scan-interval", "later"),
        ("--retention-batch-size", "0"),
        ("--retention-deletes-per-second", "-1"),
    ],
)
def test_bad_retention_flags_exit_with_a_message(argv: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit, match="worker_service: --retention"):
        _settings(*argv)


async def test_starts_are_repeated_only_after_the_recheck(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _Recorder({"shop-deleted-01234": "0123456789"}, failing=set())
    _patch(monkeypatch, recorder)
    names = {"b", retention.SYSTEM_NAMESPACE}
    ensured: dict[str, float] = {}
    settings = RetentionSettings()
    await starter.ensure_all(object(), names, settings, ensured, now=100.0)  # type: ignore[arg-type]
    await starter.ensure_all(object(), names, settings, ensured, now=101.0)  # type: ignore[arg-type]
    assert recorder.retention == ["b", retention.SYSTEM_NAMESPACE]
    assert len(recorder.reclaim) == 1
    later = 100.0 + starter.RECHECK_S
    await starter.ensure_all(object(), names, settings, ensured, now=later)  # type: ignore[arg-type]
    assert recorder.retention == ["b", retention.SYSTEM_NAMESPACE] * 2
    assert len(recorder.reclaim) == 2


async def test_a_namespace_back_under_its_name_is_started_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = _Recorder({}, failing=set())
    _patch(monkeypatch, recorder)
    ensured: dict[str, float] = {}
    settings = RetentionSettings()
    await starter.ensure_all(object(), {"shop"}, settings, ensured, now=1.0)  # type: ignore[arg-type]
    await starter.ensure_all(object(), set(), settings, ensured, now=2.0)  # type: ignore[arg-type]
    await starter.ensure_all(object(), {"shop"}, settings, ensured, now=3.0)  # type: ignore[arg-type]
    assert recorder.retention == ["shop", "shop"]
