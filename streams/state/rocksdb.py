"""The RocksDB (rocksdict) state store: one database folder per partition."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

from rocksdict import Options, Rdict, ReadOptions, WriteBatch

from streams.exceptions import StoreClosedError
from streams.state.base import (
    APPLIED_OFFSET_KEY,
    NO_OFFSET,
    RESERVED_PREFIX,
    PartitionStore,
    Store,
)


class RocksDBPartitionStore(PartitionStore):
    """One partition's state in its own RocksDB database.

    The applied offset lives in the same database under a reserved key and is written in the
    same WriteBatch as the state, so state and offset can never disagree after a crash. The
    write is not fsync'ed: a lost tail only makes the next restore replay a little more.
    """

    def __init__(self, partition: int, path: Path) -> None:
        super().__init__(partition)
        path.mkdir(parents=True, exist_ok=True)
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        self._db: Rdict | None = Rdict(str(path), options)
        self.path = path

    def _require(self) -> Rdict:
        if self._db is None:
            raise StoreClosedError(f"store of partition {self.partition} is closed")
        return self._db

    def get(self, key: bytes) -> bytes | None:
        value = self._require().get(key)
        return None if value is None else bytes(value)

    def items(self, start: bytes, stop: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        options = ReadOptions()
        if stop is not None:
            # Bounded, RocksDB does not step over tombstones past `stop` looking for a key.
            options.set_iterate_upper_bound(stop)
        it = self._require().iter(options)
        it.seek(start)
        while it.valid():
            key = bytes(it.key())
            if stop is not None and key >= stop:
                return
            if not key.startswith(RESERVED_PREFIX):
                yield key, bytes(it.value())
            it.next()

    def applied_offset(self) -> int:
        raw = self._require().get(APPLIED_OFFSET_KEY)
        return NO_OFFSET if raw is None else int.from_bytes(raw, "big", signed=True)

    def write(self, changes: Mapping[bytes, bytes | None], applied_offset: int) -> None:
        db = self._require()
        batch = WriteBatch(raw_mode=True)
        for key, value in changes.items():
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        batch.put(APPLIED_OFFSET_KEY, applied_offset.to_bytes(8, "big", signed=True))
        db.write(batch)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class RocksDBStore(Store):
    """Opens RocksDB partition stores under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def open_partition(self, partition: int) -> RocksDBPartitionStore:
        return RocksDBPartitionStore(partition, self.partition_dir(self.root, partition))

    def destroy_partition(self, partition: int) -> None:
        shutil.rmtree(self.partition_dir(self.root, partition), ignore_errors=True)
