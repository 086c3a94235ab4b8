"""Base classes of the per-partition state stores and their transactions."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path

from streams.exceptions import InvalidStateError

#: Keys starting with this byte belong to the store itself (the applied offset); processors
#: must not use them.
RESERVED_PREFIX = b"\x00"
APPLIED_OFFSET_KEY = RESERVED_PREFIX + b"applied-offset"
STATE_FORMAT_KEY = RESERVED_PREFIX + b"state-format"
NO_OFFSET = -1


class PartitionStore(ABC):
    """The durable state of one partition: key/value pairs plus the changelog offset folded last.

    Contract:
    - `write` must apply the changes and the offset atomically (one write batch).
    - `applied_offset` must be the offset passed to the last successful `write`, or NO_OFFSET.
    """

    def __init__(self, partition: int) -> None:
        self.partition = partition

    @abstractmethod
    def get(self, key: bytes) -> bytes | None:
        """The stored value of `key`, or None."""

    @abstractmethod
    def items(self, start: bytes, stop: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Stored pairs with start <= key < stop, in key order."""

    @abstractmethod
    def applied_offset(self) -> int:
        """Offset of the last changelog record folded into this store, or NO_OFFSET."""

    @abstractmethod
    def write(self, changes: Mapping[bytes, bytes | None], applied_offset: int) -> None:
        """Applies `changes` (None deletes) and records `applied_offset`, atomically."""

    @abstractmethod
    def close(self) -> None:
        """Releases the store; idempotent."""


class Store(ABC):
    """Opens the partition stores of one application instance."""

    @abstractmethod
    def open_partition(self, partition: int) -> PartitionStore:
        """Opens (creating if needed) the store of `partition`."""

    @abstractmethod
    def destroy_partition(self, partition: int) -> None:
        """Deletes the local copy of `partition`'s state (it is rebuilt from the changelog)."""

    @staticmethod
    def partition_dir(root: Path, partition: int) -> Path:
        """Folder of one partition's store under `root`."""
        return root / f"partition-{partition:04d}"


class TransactionStatus(enum.Enum):
    """Life cycle of a state transaction; it follows the Kafka transaction it belongs to."""

    OPEN = "open"
    COMMITTING = "committing"  # sealed: its Kafka transaction is being committed; reads only
    FLUSHED = "flushed"
    DISCARDED = "discarded"


_ABSENT = object()


class StateTransaction:
    """Uncommitted changes to one partition's state, visible to reads through this object.

    The changes reach the store only through `flush`, which the streams loop calls after the
    Kafka transaction holding the matching changelog records committed (step 4 of the
    commit protocol in streams/commit.py).

    While an earlier transaction of the same partition is still committing, a new one reads
    through it (`base`): its view is store + the earlier changes + its own. Once the earlier
    one is flushed, `rebase` drops the link (the store then holds those changes).
    """

    def __init__(self, store: PartitionStore, base: StateTransaction | None = None) -> None:
        if base is not None and base.status is not TransactionStatus.COMMITTING:
            raise InvalidStateError("a state transaction may only read through a committing one")
        self._store = store
        self._base = base
        self._changes: dict[bytes, bytes | None] = {}
        # (key, its pending value before the change, or _ABSENT): undoes changes back to a
        # savepoint, so one failed input's changes can be dropped from a shared transaction.
        self._journal: list[tuple[bytes, object]] = []
        self.status: TransactionStatus = TransactionStatus.OPEN

    @property
    def partition(self) -> int:
        """The partition this transaction belongs to."""
        return self._store.partition

    @property
    def dirty(self) -> bool:
        """True when this view holds changes not yet in the store: its own or its base's."""
        return bool(self._changes) or self._base is not None

    def _check_open(self) -> None:
        if self.status is not TransactionStatus.OPEN:
            raise InvalidStateError(f"state transaction is {self.status.value}")

    def _check_readable(self) -> None:
        if self.status not in (TransactionStatus.OPEN, TransactionStatus.COMMITTING):
            raise InvalidStateError(f"state transaction is {self.status.value}")

    def get(self, key: bytes) -> bytes | None:
        """The value of `key` as this transaction sees it."""
        self._check_readable()
        if key in self._changes:
            return self._changes[key]
        if self._base is not None:
            return self._base.get(key)
        return self._store.get(key)

    def seal(self) -> None:
        """Refuses further changes: the Kafka transaction holding them is being committed."""
        self._check_open()
        self.status = TransactionStatus.COMMITTING

    def rebase(self) -> None:
        """Stops reading through the base, which has been flushed into the store."""
        if self._base is not None and self._base.status is not TransactionStatus.FLUSHED:
            raise InvalidStateError(f"the base transaction is {self._base.status.value}")
        self._base = None

    def put(self, key: bytes, value: bytes) -> None:
        """Sets `key` to `value` within this transaction."""
        self._check_open()
        if key.startswith(RESERVED_PREFIX):
            raise ValueError("keys starting with 0x00 are reserved for the store")
        self._journal.append((key, self._changes.get(key, _ABSENT)))
        self._changes[key] = value

    def delete(self, key: bytes) -> None:
        """Deletes `key` within this transaction."""
        self._check_open()
        self._journal.append((key, self._changes.get(key, _ABSENT)))
        self._changes[key] = None

    def savepoint(self) -> int:
        """A mark of the changes so far; `rollback_to` undoes every change made after it."""
        return len(self._journal)

    def rollback_to(self, savepoint: int) -> None:
        """Undoes the changes made since `savepoint`, newest first."""
        self._check_open()
        while len(self._journal) > savepoint:
            key, before = self._journal.pop()
            if before is _ABSENT:
                del self._changes[key]
            else:
                self._changes[key] = before  # type: ignore[assignment]

    def items(self, start: bytes, stop: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Pairs with start <= key < stop in key order, uncommitted changes included."""
        self._check_readable()
        pending = sorted(
            (k, v) for k, v in self._changes.items() if k >= start and (stop is None or k < stop)
        )
        below = self._base.items(start, stop) if self._base else self._store.items(start, stop)
        yield from _merge(below, pending)

    def flush(self, applied_offset: int) -> None:
        """Writes the changes and `applied_offset` to the store in one batch.

        Raises:
            InvalidStateError: the transaction was flushed or discarded already, or it still
                reads through a base that is not yet in the store.
        """
        self._check_readable()
        if self._base is not None:
            raise InvalidStateError("flushed before the transaction it reads through")
        if self._changes or applied_offset != NO_OFFSET:
            self._store.write(self._changes, applied_offset)
        self._changes = {}
        self._journal = []
        self.status = TransactionStatus.FLUSHED

    def discard(self) -> None:
        """Drops the changes; the Kafka transaction they belonged to was aborted."""
        self._changes = {}
        self._journal = []
        self._base = None
        self.status = TransactionStatus.DISCARDED


def _merge(
    stored: Iterator[tuple[bytes, bytes]], pending: list[tuple[bytes, bytes | None]]
) -> Iterator[tuple[bytes, bytes]]:
    """Merges two key-ordered streams; `pending` wins on equal keys, None values are deletes."""
    i = 0
    for key, value in stored:
        while i < len(pending) and pending[i][0] < key:
            yield from _live(pending[i])
            i += 1
        if i < len(pending) and pending[i][0] == key:
            yield from _live(pending[i])
            i += 1
        else:
            yield key, value
    for item in pending[i:]:
        yield from _live(item)


def _live(item: tuple[bytes, bytes | None]) -> Iterator[tuple[bytes, bytes]]:
    key, value = item
    if value is not None:
        yield key, value
