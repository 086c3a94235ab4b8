"""The life cycle of the input partitions an instance owns: restore on assignment, release.

A partition is assigned, restored from its changelog (or rebuilt when the local store is ahead
of a changelog that was recreated), owned, and finally revoked (a graceful hand-over: the open
transaction commits first) or lost (the generation is gone: it aborts). `StreamApp` wires these
callbacks into its consumer; the commit protocol itself lives in `streams.commit`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from streams.commit import TIMEOUT_S, Transactions
from streams.exceptions import StreamsError
from streams.state.base import STATE_FORMAT_KEY, PartitionStore, StateTransaction, Store
from streams.state.recovery import Restorer

log = logging.getLogger(__name__)

ApplyFn = Callable[[StateTransaction, bytes | None, bytes | None], None]


class Partitions:
    """The stores of the owned partitions and their assignment callbacks.

    Args:
        store: Opens, closes and destroys partition stores.
        restorer: Folds changelog partitions into stores.
        transactions: The open transaction, committed or aborted on hand-over.
        apply: The processor's fold of one changelog record.
        state_format: The processor's key layout (`StreamsConfig.state_format`).
    """

    def __init__(
        self,
        store: Store,
        restorer: Restorer,
        transactions: Transactions,
        apply: ApplyFn,
        state_format: str = "",
    ) -> None:
        self._store = store
        self._format = state_format.encode()
        self._restorer = restorer
        self._transactions = transactions
        self._apply = apply
        self.stores: dict[int, PartitionStore] = {}
        self.restored_records = 0
        self.on_changed: Callable[[set[int]], None] | None = None

    @property
    def owned(self) -> set[int]:
        """Partition numbers this instance currently owns."""
        return set(self.stores)

    def on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Restores the newly assigned partitions, then starts consuming them."""
        # Committed offsets are fetched with require_stable (read_committed), so this waits
        # until a fenced owner's pending transaction has ended; only then is the changelog
        # complete up to the inputs those offsets cover, and restore may begin.
        committed = consumer.committed(partitions, timeout=TIMEOUT_S * 2)
        for number in sorted({tp.partition for tp in partitions}):
            if number not in self.stores:
                self.stores[number] = self._restore(number)
        for tp in committed:
            key = (tp.topic, tp.partition)
            self._transactions.committed[key] = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
            tp.offset = self._transactions.committed[key]
        consumer.assign(committed)
        self._notify()

    def on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """A graceful hand-over: the generation is still valid, so the open work commits."""
        if self._transactions.uncommitted:
            self._transactions.commit(self.stores)
        self._release(partitions)

    def on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """The generation is gone: nothing of the open transaction may commit."""
        if self._transactions.uncommitted:
            self._transactions.abort(StreamsError("partitions lost"), self.stores)
        self._release(partitions)

    def close(self) -> None:
        """Closes every store (the partitions are no longer consumed)."""
        for store in self.stores.values():
            store.close()
        self.stores = {}

    def _restore(self, number: int) -> PartitionStore:
        store = self._store.open_partition(number)
        if self._restorer.is_ahead(store):
            log.warning("partition %d: local state is ahead of its changelog; rebuilding", number)
            store = self._rebuild(store)
        elif self._format and store.get(STATE_FORMAT_KEY) not in (self._format, None):
            log.warning("partition %d: local state has another key layout; rebuilding", number)
            store = self._rebuild(store)
        elif self._format and store.get(STATE_FORMAT_KEY) is None and store.applied_offset() >= 0:
            log.warning("partition %d: local state has no key layout mark; rebuilding", number)
            store = self._rebuild(store)
        if self._format and store.get(STATE_FORMAT_KEY) != self._format:
            store.write({STATE_FORMAT_KEY: self._format}, store.applied_offset())
        result = self._restorer.restore(store, self._apply_record, timeout=TIMEOUT_S * 4)
        self.restored_records += result.records
        log.info(
            "partition %d restored: %d records after offset %d in %.2fs",
            number,
            result.records,
            result.start_offset,
            result.seconds,
        )
        return store

    def _rebuild(self, store: PartitionStore) -> PartitionStore:
        """Destroys the local copy; the restore then folds the whole changelog."""
        store.close()
        self._store.destroy_partition(store.partition)
        return self._store.open_partition(store.partition)

    def _apply_record(self, state: StateTransaction, msg: Message) -> None:
        self._apply(state, msg.key(), msg.value())

    def _release(self, partitions: list[TopicPartition]) -> None:
        for number in sorted({tp.partition for tp in partitions}):
            store = self.stores.pop(number, None)
            if store is not None:
                store.close()
        self._transactions.forget(partitions)
        self._notify()

    def _notify(self) -> None:
        if self.on_changed is not None:
            self.on_changed(self.owned)
