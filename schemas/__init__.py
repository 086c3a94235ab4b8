"""Avro schemas and serdes of every record Strom puts on Kafka.

Records (namespace ``strom.v1``; Temporal API messages travel inside as protobuf bytes,
timestamps are ``long`` epoch milliseconds, kinds are strings so new kinds never break
old readers):

- ``InboxCommand`` (history.inbox), ``EventBatch`` (history.events), ``TaskRecord`` (tasks),
  ``VisibilityRecord`` (visibility), ``Reply`` (replies), ``Namespace`` (namespaces),
  ``ClusterSettings`` and ``RemoteCluster`` (cluster), ``DeadLetter`` (deadletter). Their
  Python types are in ``schemas.records``.

The rest of the contract between Strom's services lives beside the codec, and no service
imports another service's package:

- ``schemas.topics``: the topic layout (``Topology``; the one place topic names are spelled).
- ``schemas.placement``: the stable hash, a workflow's shard, task-queue partitions.
- ``schemas.inbox``: every inbox kind with its payload type, the internal messages.
- ``schemas.reply``: the answer to an inbox command and gRPC status codes.
- ``schemas.tokens``: the task-token format; ``schemas.prepared``: the prepared poll response
  matching finishes for an optimistic workflow-task start.
- ``schemas.namespaces``: namespaces, their id formula and the registry read from Kafka.
- ``schemas.clients``: the clients of the history and matching services.
- ``schemas.visibility``: the Elasticsearch index (template, attributes) and its reader.

Usage::

    import schemas

    data = schemas.encode(schemas.TASK_RECORD, {...})
    value = schemas.decode(data, schemas.TASK_RECORD)

Wire format: Avro single-object encoding. Bytes ``C3 01``, then the 8-byte little-endian
CRC-64-AVRO (Rabin) fingerprint of the writer schema's Parsing Canonical Form, then the Avro
binary body. ``fingerprint_of(data)`` returns that fingerprint as an integer.

Schema files (``schemas/avro/``, flat so the package-data glob ``avro/*.avsc`` ships them all):

- ``<full record name>.avsc``, e.g. ``strom.v1.TaskRecord.avsc``: the current version, the one
  ``encode`` writes.
- ``<full record name>.<n>.avsc``, e.g. ``strom.v1.VisibilityRecord.1.avsc``: frozen older
  version n (1 = first ever shipped); the current version counts as highest + 1.

All files are parsed once, at import. ``decode`` looks the fingerprint up among every version
and resolves an older writer schema into the current reader schema (Avro schema resolution),
filling added fields with their defaults. An unknown fingerprint raises ``UnknownSchemaError``,
malformed bytes ``SchemaDecodeError``, bytes of another record than asked for
``RecordMismatchError``, a value that does not fit ``SchemaEncodeError``.

How to evolve a schema (records already on Kafka must stay readable):

1. Copy the current ``<name>.avsc`` to ``<name>.<n>.avsc`` with the next free n, unchanged
   (``doc`` attributes may be edited: they are not part of the fingerprint). Never edit or
   delete a numbered file again; records written with it may still sit on a topic.
2. In ``<name>.avsc``, only add fields, each with a default (``null`` in a ``["null", T]``
   union, ``""`` for string/bytes, ``[]``, ``{}``, ``false``, ``0``); the registry refuses to
   load a current schema with a field an older version lacks and that has no default. Never
   remove, rename or retype a field; a new kind of something is a new string value.
   Prefer adding at top level: defaults of fields added inside nested records are not
   converted for fastavro (a nested ``bytes`` default would decode as ``str``).
3. Give the new field a value in ``schemas/samples.py``, then regenerate the golden
   bytes with ``python tests/golden/schema_golden.py --write`` (check them without ``--write``)
   and run ``pytest tests/unit/schemas``. The golden files of numbered versions must
   not change; if they do, a frozen file was edited.
"""

from typing import Final

from schemas._codec import Codec, fingerprint_of
from schemas._registry import Registry
from schemas.exceptions import (
    RecordMismatchError,
    SchemaDecodeError,
    SchemaEncodeError,
    SchemaError,
    SchemaRegistryError,
    UnknownRecordError,
    UnknownSchemaError,
)

INBOX_COMMAND: Final = "strom.v1.InboxCommand"
EVENT_BATCH: Final = "strom.v1.EventBatch"
TASK_RECORD: Final = "strom.v1.TaskRecord"
VISIBILITY_RECORD: Final = "strom.v1.VisibilityRecord"
REPLY: Final = "strom.v1.Reply"
NAMESPACE: Final = "strom.v1.Namespace"
CLUSTER_SETTINGS: Final = "strom.v1.ClusterSettings"
DEAD_LETTER: Final = "strom.v1.DeadLetter"
REMOTE_CLUSTER: Final = "strom.v1.RemoteCluster"

RECORD_NAMES: Final = (
    INBOX_COMMAND,
    EVENT_BATCH,
    TASK_RECORD,
    VISIBILITY_RECORD,
    REPLY,
    NAMESPACE,
    CLUSTER_SETTINGS,
    DEAD_LETTER,
    REMOTE_CLUSTER,
)
"""Every record name with a schema."""

REGISTRY: Final = Registry.load()
"""Every shipped schema version, parsed at import."""

_CODEC: Final = Codec(REGISTRY)

encode = _CODEC.encode
decode = _CODEC.decode

__all__ = [
    "CLUSTER_SETTINGS",
    "DEAD_LETTER",
    "EVENT_BATCH",
    "INBOX_COMMAND",
    "NAMESPACE",
    "RECORD_NAMES",
    "REGISTRY",
    "REMOTE_CLUSTER",
    "REPLY",
    "TASK_RECORD",
    "VISIBILITY_RECORD",
    "Codec",
    "RecordMismatchError",
    "Registry",
    "SchemaDecodeError",
    "SchemaEncodeError",
    "SchemaError",
    "SchemaRegistryError",
    "UnknownRecordError",
    "UnknownSchemaError",
    "decode",
    "encode",
    "fingerprint_of",
]
