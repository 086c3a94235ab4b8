"""Exceptions raised by the streams layer."""


class StreamsError(Exception):
    """Base class of every error the streams layer raises."""


class TopicMismatchError(StreamsError):
    """An existing topic differs from its specification (partitions or cleanup policy)."""


class TopicAdminError(StreamsError):
    """Creating or describing topics failed."""


class StoreClosedError(StreamsError):
    """A state store was used after it was closed."""


class InvalidStateError(StreamsError):
    """An object was asked to do something its life-cycle state does not allow."""


class RestoreError(StreamsError):
    """Restoring a partition's state from its changelog topic failed."""


class ProducerFencedError(StreamsError):
    """Another producer with the same transactional id took over; this instance must stop."""


class TransactionStalledError(StreamsError):
    """A transactional call still had not completed after its retries; the instance must stop
    (its successor's init_transactions ends the transaction, committed or aborted)."""


class RejoinStalledError(StreamsError):
    """The consumer lost its partitions and did not rejoin its group in time (see
    `StreamsConfig.rejoin_patience_s`); the instance stops so that a fresh one joins."""
