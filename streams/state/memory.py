"""An in-memory state store with the RocksDB store's contract, for fast unit tests."""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping

from streams.exceptions import StoreClosedError
from streams.state.base import NO_OFFSET, RESERVED_PREFIX, PartitionStore, Store


class MemoryPartitionStore(PartitionStore):
    """One partition's state held in a dict; survives close/reopen within the process."""

    def __init__(self, partition: int, data: dict[bytes, bytes], meta: dict[str, int]) -> None:
        super().__init__(partition)
        self._data = data
        self._meta = meta
        self._closed = False

    def _check(self) -> None:
        if self._closed:
            raise StoreClosedError(f"store of partition {self.partition} is closed")

    def get(self, key: bytes) -> bytes | None:
        self._check()
        return self._data.get(key)

    def items(self, start: bytes, stop: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        self._check()
        keys = sorted(self._data)
        for key in keys[bisect.bisect_left(keys, start) :]:
            if stop is not None and key >= stop:
                return
            if not key.startswith(RESERVED_PREFIX):
                yield key, self._data[key]

    def applied_offset(self) -> int:
        self._check()
        return self._meta.get("offset", NO_OFFSET)

    def write(self, changes: Mapping[bytes, bytes | None], applied_offset: int) -> None:
        self._check()
        for key, value in changes.items():
            if value is None:
                self._data.pop(key, None)
            else:
                self._data[key] = value
        self._meta["offset"] = applied_offset

    def close(self) -> None:
        self._closed = True


class MemoryStore(Store):
    """Holds every partition's dict so that a reopened partition sees its old state."""

    def __init__(self) -> None:
        self._partitions: dict[int, tuple[dict[bytes, bytes], dict[str, int]]] = {}

    def open_partition(self, partition: int) -> MemoryPartitionStore:
        data, meta = self._partitions.setdefault(partition, ({}, {}))
        return MemoryPartitionStore(partition, data, meta)

    def destroy_partition(self, partition: int) -> None:
        self._partitions.pop(partition, None)
