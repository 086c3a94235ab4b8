"""The worker service follows the namespace list: one worker per registered namespace."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from temporalio.api.enums.v1 import NamespaceState
from temporalio.api.namespace.v1 import NamespaceInfo
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceResponse,
    ListNamespacesRequest,
    ListNamespacesResponse,
)

from worker_service import service
from worker_service.service import WorkerService

_REG = NamespaceState.NAMESPACE_STATE_REGISTERED
_DEP = NamespaceState.NAMESPACE_STATE_DEPRECATED


@dataclass
class _Service:
    pages: list[list[tuple[str, int]]]
    calls: list[bytes] = field(default_factory=list)

    async def list_namespaces(self, request: ListNamespacesRequest) -> ListNamespacesResponse:
        self.calls.append(request.next_page_token)
        index = int(request.next_page_token or b"0")
        page = ListNamespacesResponse(
            namespaces=[
                DescribeNamespaceResponse(namespace_info=NamespaceInfo(name=n, state=s))  # type: ignore[arg-type]
                for n, s in self.pages[index]
            ]
        )
        if index + 1 < len(self.pages):
            page.next_page_token = str(index + 1).encode()
        return page


@dataclass
class _Client:
    workflow_service: _Service


class _FakeWorker:
    def __init__(self, name: str, started: list[str]) -> None:
        self.name = name
        started.append(name)

    async def run(self) -> None:
        await asyncio.Event().wait()


async def test_one_worker_per_registered_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    monkeypatch.setattr(
        service, "namespace_worker", lambda _client, name, _kafka: _FakeWorker(name, started)
    )
    fake = _Service([[("default", _REG), ("old", _DEP)], [("orders", _REG)]])
    svc = WorkerService(_Client(fake))  # type: ignore[arg-type]
    await svc.sync()
    assert sorted(svc.workers) == ["default", "orders"]
    assert fake.calls == [b"", b"1"]  # followed the pages
    fake.pages = [[("default", _REG)]]
    await svc.sync()
    assert sorted(svc.workers) == ["default"]
    assert started == ["default", "orders"]  # nothing started twice
    stop = asyncio.Event()
    stop.set()
    await svc.run(stop)
    assert svc.workers == {}


async def test_a_failing_list_keeps_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "namespace_worker", lambda _c, name, _k: _FakeWorker(name, []))
    fake = _Service([[("default", _REG)]])
    svc = WorkerService(_Client(fake))  # type: ignore[arg-type]
    await svc.sync()

    async def broken(_request: Any) -> None:
        raise RuntimeError("frontend restarting")

    fake.list_namespaces = broken  # type: ignore[method-assign, assignment]
    await svc.sync()
    assert list(svc.workers) == ["default"]
    stop = asyncio.Event()
    stop.set()
    await svc.run(stop)
