"""The life cycle of the input partitions an instance owns: restore on assignment, release.

A partition is assigned, restored from its changelog (or rebuilt when the local store is ahead
of a changelog that was recreated, or holds another key layout), owned, and finally revoked (a
graceful hand-over: the open transaction commits first) or lost (the generation is gone: it
aborts). `StreamApp` wires these callbacks into its consumer; the commit protocol itself lives
in `streams.commit`.

Restores run outside the rebalance callback: the callback only opens the store, assigns the
input partition paused and begins the restore; `restore_step`, called from the processing loop,
folds the changelog a batch at a time while the instance keeps serving its other partitions.
When the changelog is folded, the input partition is rewound to its committed position and
resumed. A large shard therefore never holds up a rebalance or its neighbours.

With incremental (cooperative) rebalancing, an opt-in (`StreamsConfig.incremental_rebalance`),
the callbacks get only the partitions that change owner: the others are neither committed
early nor closed and restored again. A transaction sealed before the group's generation
changed is refused by the group coordinator and aborted (its inputs are processed again),
exactly as a zombie's would be.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from streams import offsets
from streams.commit import Transactions
from streams.exceptions import StreamsError
from streams.kafka_calls import TIMEOUT_S
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
        incremental: The group rebalances incrementally: an assignment adds partitions to
            the ones owned (`StreamsConfig.incremental_rebalance`).
    """

    def __init__(
        self,
        store: Store,
        restorer: Restorer,
        transactions: Transactions,
        apply: ApplyFn,
        state_format: str = "",
        incremental: bool = False,
    ) -> None:
        self._incremental = incremental
        self._store = store
        self._format = state_format.encode()
        self._restorer = restorer
        self._transactions = transactions
        self._apply = apply
        self.stores: dict[int, PartitionStore] = {}
        self._restoring: dict[int, PartitionStore] = {}
        self._inputs: dict[int, list[TopicPartition]] = {}
        self.restored_records = 0
        # When the partitions were lost, until the next assignment (`StreamsConfig.
        # rejoin_patience_s`); None while the group membership holds.
        self.lost_since: float | None = None
        self.on_changed: Callable[[set[int]], None] | None = None
        # Called with each owned partition about to be released, after its open work was
        # committed or aborted: the processor answers the callers still waiting on it.
        self.on_hand_over: Callable[[int], None] | None = None

    @property
    def owned(self) -> set[int]:
        """Partition numbers this instance currently owns and serves (restored)."""
        return set(self.stores)

    @property
    def restoring(self) -> set[int]:
        """Partitions assigned but still being restored (their inputs are paused)."""
        return set(self._restoring)

    def on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Assigns the new partitions paused and begins their restores."""
        self.lost_since = None
        self._transactions.group_changed()
        if self._incremental and not partitions:
            return  # nothing comes here this round; what is owned stays as it is
        # Committed offsets are fetched with require_stable (read_committed), so this waits
        # until a fenced owner's pending transaction has ended; only then is the changelog
        # complete up to the inputs those offsets cover, and restore may begin.
        # Explicit start offsets also keep librdkafka from fetching them itself, which can
        # stall for good after a coordinator move (see streams.offsets).
        committed = offsets.committed(consumer, partitions, TIMEOUT_S * 2, OFFSET_BEGINNING)
        for tp in committed:
            self._transactions.committed[(tp.topic, tp.partition)] = tp.offset
        if self._incremental:
            consumer.incremental_assign(committed)
        else:
            consumer.assign(committed)
        waiting = []
        for number in sorted({tp.partition for tp in partitions}):
            if number in self.stores or number in self._restoring:
                continue
            self._inputs[number] = [tp for tp in committed if tp.partition == number]
            waiting += self._inputs[number]
            self._restoring[number] = self._open(number)
            self._restorer.begin(self._restoring[number])
        if waiting:
            consumer.pause(waiting)
        self._notify()

    def restore_step(self, consumer: Consumer, max_records: int) -> None:
        """Folds the next batch of the restoring partitions; resumes the ones that are done."""
        if not self._restoring:
            return
        for result in self._restorer.step(self._apply_record, max_records):
            store = self._restoring.pop(result.partition)
            self.stores[result.partition] = store
            self.restored_records += result.records
            # Records fetched while paused may have been dropped: start again at the commit.
            inputs = self._inputs.pop(result.partition, [])
            for tp in inputs:
                offset = self._transactions.committed.get((tp.topic, tp.partition), tp.offset)
                consumer.seek(TopicPartition(tp.topic, tp.partition, offset))
            consumer.resume(inputs)
            log.info(
                "partition %d restored: %d records after offset %d in %.2fs",
                result.partition,
                result.records,
                result.start_offset,
                result.seconds,
            )
            self._notify()

    def on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """A graceful hand-over: the generation is still valid, so the open work commits."""
        if self._transactions.uncommitted:
            self._transactions.commit(self.stores)
        self.hand_over(partitions)
        self._transactions.group_changed()
        self._release(partitions)

    def on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """The generation is gone: nothing of the open transaction may commit."""
        self.lost_since = time.monotonic()
        if self._transactions.uncommitted:
            self._transactions.abort(StreamsError("partitions lost"), self.stores)
        self.hand_over(partitions)
        self._transactions.group_changed()
        self._release(partitions)

    def hand_over(self, partitions: list[TopicPartition]) -> None:
        """Lets the processor answer the callers waiting on the owned ones of `partitions`."""
        if self.on_hand_over is None:
            return
        for number in sorted({tp.partition for tp in partitions} & set(self.stores)):
            self.on_hand_over(number)

    def close(self) -> None:
        """Closes every store (the partitions are no longer consumed)."""
        for number in list(self._restoring):
            self._restorer.cancel(number)
            self._restoring.pop(number).close()
        for store in self.stores.values():
            store.close()
        self.stores = {}

    def _open(self, number: int) -> PartitionStore:
        """The partition's store, rebuilt first if it cannot be restored as it is."""
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
            if number in self._restoring:
                self._restorer.cancel(number)
                self._restoring.pop(number).close()
                self._inputs.pop(number, None)
        self._transactions.forget(partitions)
        self._notify()

    def _notify(self) -> None:
        if self.on_changed is not None:
            self.on_changed(self.owned)
