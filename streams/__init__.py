"""Strom's small stream-processing layer: exactly-once consume-process-produce over Kafka.

No workflow knowledge lives here. The public surface:

- `StreamsConfig`, `StreamApp`, `Processor`, `Context`: the transactional loop.
- `TopicSpec`, `ensure_topics`: topic creation and verification.
- `RocksDBStore`, `MemoryStore`, `StateTransaction`: per-partition state.
"""

from streams.admin import TopicSpec, ensure_topics
from streams.app import Context, Processor, StreamApp
from streams.config import StreamsConfig
from streams.state.base import NO_OFFSET, PartitionStore, StateTransaction, Store
from streams.state.memory import MemoryStore
from streams.state.rocksdb import RocksDBStore

__all__ = [
    "NO_OFFSET",
    "Context",
    "MemoryStore",
    "PartitionStore",
    "Processor",
    "RocksDBStore",
    "StateTransaction",
    "Store",
    "StreamApp",
    "StreamsConfig",
    "TopicSpec",
    "ensure_topics",
]
