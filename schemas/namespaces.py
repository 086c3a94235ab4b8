"""Temporal namespaces: the model, the id formula, an in-memory registry and one kept from Kafka."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, NamedTuple

from temporalio.api.enums.v1 import NamespaceState

from schemas.topics import Topology
from schemas.visibility.attributes import ValueType
from streams.supervision import OnDeath, log_death, start_thread

logger = logging.getLogger(__name__)

DEFAULT_NAMESPACE = "default"
DEFAULT_RETENTION_MS = 24 * 3600 * 1000
RPS_DATA_KEY = "frontend.namespaceRPS"
"""Key of a namespace's ``data`` that sets its frontend requests per second (Temporal's
dynamic-config name); ``temporal operator namespace update --data frontend.namespaceRPS=50``."""
ARCHIVAL_DISABLED = "Disabled"
ARCHIVAL_ENABLED = "Enabled"


class State(Enum):
    """Life cycle of a namespace; values are the strings stored on the topic."""

    REGISTERED = "Registered"
    DEPRECATED = "Deprecated"
    DELETED = "Deleted"

    @property
    def proto(self) -> NamespaceState.ValueType:
        """The matching temporal.api.enums.v1.NamespaceState."""
        return _PROTO_STATES[self]


_PROTO_STATES = {
    State.REGISTERED: NamespaceState.NAMESPACE_STATE_REGISTERED,
    State.DEPRECATED: NamespaceState.NAMESPACE_STATE_DEPRECATED,
    State.DELETED: NamespaceState.NAMESPACE_STATE_DELETED,
}


@dataclass(frozen=True)
class Namespace:
    """One namespace as stored in a ``strom.v1.Namespace`` record.

    Attributes:
        name: Unique name, the record key.
        id: Stable UUID string; task tokens and visibility records carry it.
        state: Life-cycle state.
        description: Free text.
        owner_email: Free text.
        retention_ms: How long closed executions are kept.
        data: User key/values.
        version: Increases with every change of the record.
        search_attributes: Custom search attributes: name -> type name (``ValueType`` value,
            e.g. ``Keyword``); added through OperatorService.AddSearchAttributes.
        history_archival_state: ``Disabled`` or ``Enabled`` (recorded; Strom has no archiver yet).
        history_archival_uri: Where history is to be archived; fixed once set.
        visibility_archival_state: Like ``history_archival_state``, for visibility.
        visibility_archival_uri: Like ``history_archival_uri``, for visibility.
        is_global: A global namespace (Temporal's is_global_namespace), replicated from its
            active cluster to the other clusters it lists.
        active_cluster: The cluster where it is active; "" means the cluster holding the record.
        clusters: The clusters it lives in; empty means only the cluster holding the record.
        failover_version: Temporal's failover version: 0 for a local namespace; raised by
            every failover of a global one (`schemas.clusters.next_failover_version`).
    """

    name: str
    id: str
    state: State = State.REGISTERED
    description: str = ""
    owner_email: str = ""
    retention_ms: int = DEFAULT_RETENTION_MS
    data: Mapping[str, str] = field(default_factory=dict)
    version: int = 1
    search_attributes: Mapping[str, str] = field(default_factory=dict)
    history_archival_state: str = ARCHIVAL_DISABLED
    history_archival_uri: str = ""
    visibility_archival_state: str = ARCHIVAL_DISABLED
    visibility_archival_uri: str = ""
    is_global: bool = False
    active_cluster: str = ""
    clusters: tuple[str, ...] = ()
    failover_version: int = 0

    def is_standby_in(self, cluster_name: str) -> bool:
        """True when this global namespace is replicated to, not active in, ``cluster_name``."""
        return (
            self.is_global
            and cluster_name in self.clusters
            and self.active_cluster not in ("", cluster_name)
        )

    @property
    def rps_limit(self) -> float | None:
        """The namespace's own requests-per-second limit (``data[RPS_DATA_KEY]``), if valid.

        None (the cluster default applies) when unset, not a number, or not positive; the
        frontend refuses such values when they are written, so only old records can hold them.
        """
        return parse_rps(self.data.get(RPS_DATA_KEY))

    def custom_search_attributes(self) -> dict[str, ValueType]:
        """The custom search attributes with their types (unknown type names are skipped)."""
        out: dict[str, ValueType] = {}
        for name, type_name in self.search_attributes.items():
            try:
                out[name] = ValueType.from_name(type_name)
            except ValueError:
                logger.warning(
                    "namespace %s: attribute %s has unknown type %r", self.name, name, type_name
                )
        return out

    def to_record(self) -> dict[str, Any]:
        """The dict ``schemas.encode(schemas.NAMESPACE, ...)`` takes."""
        return {
            "name": self.name,
            "id": self.id,
            "state": self.state.value,
            "description": self.description,
            "owner_email": self.owner_email,
            "retention_ms": self.retention_ms,
            "data": dict(self.data),
            "version": self.version,
            "search_attributes": dict(self.search_attributes),
            "history_archival_state": self.history_archival_state,
            "history_archival_uri": self.history_archival_uri,
            "visibility_archival_state": self.visibility_archival_state,
            "visibility_archival_uri": self.visibility_archival_uri,
            "is_global": self.is_global,
            "active_cluster": self.active_cluster,
            "clusters": list(self.clusters),
            "failover_version": self.failover_version,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Namespace:
        """The namespace of a decoded ``strom.v1.Namespace`` record."""
        return cls(
            name=record["name"],
            id=record["id"],
            state=State(record["state"]),
            description=record["description"],
            owner_email=record["owner_email"],
            retention_ms=record["retention_ms"],
            data=dict(record.get("data") or {}),
            version=record["version"],
            search_attributes=dict(record.get("search_attributes") or {}),
            # Records before version 3 carry no archival fields: never enabled.
            history_archival_state=record.get("history_archival_state") or ARCHIVAL_DISABLED,
            history_archival_uri=record.get("history_archival_uri") or "",
            visibility_archival_state=(
                record.get("visibility_archival_state") or ARCHIVAL_DISABLED
            ),
            visibility_archival_uri=record.get("visibility_archival_uri") or "",
            # Records before version 4 are local namespaces.
            is_global=bool(record.get("is_global", False)),
            active_cluster=record.get("active_cluster") or "",
            clusters=tuple(record.get("clusters") or ()),
            failover_version=int(record.get("failover_version") or 0),
        )


def parse_rps(value: str | None) -> float | None:
    """A requests-per-second value as written in namespace data; None unless a positive number."""
    if value is None:
        return None
    try:
        rate = float(value.strip().strip('"'))
    except ValueError:
        return None
    return rate if rate > 0 and rate != float("inf") else None


def active_elsewhere(namespace: Namespace | None, cluster_name: str) -> str:
    """The cluster where a namespace is active if it is standby in ``cluster_name``, else ""."""
    if namespace is None or not namespace.is_standby_in(cluster_name):
        return ""
    return namespace.active_cluster


def failover_version(namespace: Namespace | None, cluster_name: str) -> int:
    """The version ``cluster_name`` stamps on a namespace's events: the failover version of a
    global namespace active there, 0 otherwise (Temporal's EmptyVersion for local ones)."""
    if namespace is None or not namespace.is_global:
        return 0
    return namespace.failover_version if namespace.active_cluster == cluster_name else 0


class Stance(NamedTuple):
    """Where a namespace is active as seen from one cluster, read from one namespace record.

    History decides a command and stamps its events from one stance: reading "active where"
    and "which version" from two reads of a registry a failover updates meanwhile could
    accept a command as active and stamp its events with a standby's version 0.
    """

    active_elsewhere: str  # the cluster where it is active if not this one, else ""
    version: int  # the failover version this cluster stamps on its events (0: none)


LOCAL = Stance("", 0)
"""The stance of every namespace in a single cluster: active here, events of version 0."""


def stance(namespace: Namespace | None, cluster_name: str) -> Stance:
    """``namespace``'s stance in ``cluster_name`` (`active_elsewhere`, `failover_version`)."""
    return Stance(
        active_elsewhere(namespace, cluster_name), failover_version(namespace, cluster_name)
    )


def deleted_name(namespace: Namespace) -> str:
    """The name a deleted namespace is renamed to, Temporal's ``<name>-deleted-<id[:5]>``.

    The rename frees the name at once for a new namespace while the old one's workflows
    are still being removed.
    """
    return f"{namespace.name}-deleted-{namespace.id[:5]}"


def namespace_id(cluster_name: str, name: str) -> str:
    """The id a namespace gets in a cluster: a UUID derived from both names.

    Derived, not random, so frontends racing to register the same namespace write the same
    record, and a history shard can name a namespace it has not seen registered yet.
    """
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"strom://{cluster_name}/namespaces/{name}"))


def fresh_namespace_id(
    get_by_id: Callable[[str], Namespace | None], cluster_name: str, name: str
) -> str:
    """The id for registering ``name`` now: ``namespace_id`` unless a deleted namespace that
    had the name still holds it, then the first free id of ``<name>#<n>``.

    Still derived from what every frontend sees, so racing registrations agree.
    """
    candidate = namespace_id(cluster_name, name)
    generation = 0
    while get_by_id(candidate) is not None:
        generation += 1
        candidate = namespace_id(cluster_name, f"{name}#{generation}")
    return candidate


def default_namespace(cluster_name: str) -> Namespace:
    """Namespace ``default``: retention 1 day, registered, an id stable per cluster."""
    return Namespace(name=DEFAULT_NAMESPACE, id=namespace_id(cluster_name, DEFAULT_NAMESPACE))


class NamespaceTable:
    """Namespaces by name and by id; the fold of the namespaces topic. Thread-safe."""

    def __init__(self, namespaces: Iterable[Namespace] = ()) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, Namespace] = {}
        self._by_id: dict[str, Namespace] = {}
        for namespace in namespaces:
            self.put(namespace)

    def put(self, namespace: Namespace) -> None:
        """Adds or replaces the namespace of that name."""
        with self._lock:
            old = self._by_name.get(namespace.name)
            if old is not None and self._by_id.get(old.id) is old:
                self._by_id.pop(old.id, None)
            self._by_name[namespace.name] = namespace
            self._by_id[namespace.id] = namespace

    def remove(self, name: str) -> None:
        """Forgets the namespace of that name (a tombstone on the topic)."""
        with self._lock:
            old = self._by_name.pop(name, None)
            # A renamed (deleted) namespace keeps its id under its new name: only drop the id
            # entry when it still points at the removed name.
            if old is not None and self._by_id.get(old.id, old).name == name:
                self._by_id.pop(old.id, None)

    def get(self, name: str) -> Namespace | None:
        """The namespace of that name, if any."""
        with self._lock:
            return self._by_name.get(name)

    def get_by_id(self, namespace_id: str) -> Namespace | None:
        """The namespace of that id, if any."""
        with self._lock:
            return self._by_id.get(namespace_id)

    def list(self) -> list[Namespace]:
        """All namespaces, sorted by name."""
        with self._lock:
            return sorted(self._by_name.values(), key=lambda ns: ns.name)


class InMemoryNamespaceRegistry(NamespaceTable):
    """A NamespaceRegistry without Kafka, for tests and single-process tools."""

    def register(self, namespace: Namespace) -> Namespace:
        """Adds or replaces a namespace, bumping its version when it replaces one."""
        old = self.get(namespace.name)
        if old is not None:
            namespace = replace(namespace, version=old.version + 1)
        self.put(namespace)
        return namespace

    def unregister(self, name: str) -> None:
        """Removes the namespace of that name (a tombstone on the topic)."""
        self.remove(name)

    def ensure_default(self, cluster_name: str = "strom") -> Namespace:
        """Registers namespace ``default`` when absent and returns it."""
        existing = self.get(DEFAULT_NAMESPACE)
        if existing is not None:
            return existing
        namespace = default_namespace(cluster_name)
        self.register(namespace)
        return namespace


class KafkaNamespaceRegistry(NamespaceTable):
    """The namespaces of a cluster, kept current by a thread reading the namespaces topic.

    The topic (one partition, compacted, key = name, value = ``strom.v1.Namespace``, a null
    value deletes) must exist: ``Topology(cluster).ensure(bootstrap)`` creates it. Lookups
    are in-memory and never block on Kafka.

    Contract:
        - ``start`` must return before lookups are trusted: it waits until the whole topic
          has been read once.
        - ``register`` returns only after the record was read back, so this process sees
          its own writes.
        - ``close`` must be called; it stops the reader thread.
    """

    def __init__(
        self,
        bootstrap: str,
        cluster_name: str = "strom",
        *,
        extra_consumer: Mapping[str, Any] | None = None,
        extra_producer: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.bootstrap = bootstrap
        self.cluster_name = cluster_name
        self.topic = Topology(cluster_name).namespaces
        self._extra_consumer = dict(extra_consumer or {})
        self._extra_producer = dict(extra_producer or {})
        self._progress = threading.Condition()
        self._read_offset = -1  # offset of the last record applied
        self._caught_up = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._producer: Any = None
        self.on_death: OnDeath = log_death  # services set it to stop serving and exit

    def start(self, timeout: float = 30.0) -> None:
        """Starts the reader and waits until it has read the topic to its end.

        Raises:
            TimeoutError: The topic was not read to its end within ``timeout`` seconds.
        """
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        from streams.connection import Consumer

        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                # A private group id: the reader assigns its partition itself and never
                # commits, every frontend reads the whole topic.
                "group.id": f"{self.topic}.reader.{uuid.uuid4()}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                **self._extra_consumer,
            }
        )
        consumer.assign([TopicPartition(self.topic, 0, OFFSET_BEGINNING)])
        self._thread = start_thread(
            lambda: self._run(consumer), f"namespaces-{self.topic}", self.on_death
        )
        with self._progress:
            if not self._progress.wait_for(lambda: self._caught_up, timeout):
                self.close()
                raise TimeoutError(f"namespaces topic {self.topic} not read within {timeout}s")

    def register(self, namespace: Namespace, timeout: float = 30.0) -> Namespace:
        """Writes a namespace (version bumped over the known one) and waits to read it back.

        Raises:
            TimeoutError: The write was not confirmed and read back within ``timeout``.
            RuntimeError: Kafka refused the write.
        """
        import schemas

        old = self.get(namespace.name)
        namespace = replace(namespace, version=(old.version + 1) if old else namespace.version)
        value = schemas.encode(schemas.NAMESPACE, namespace.to_record())
        offset = self._produce(namespace.name.encode(), value, timeout)
        with self._progress:
            if not self._progress.wait_for(lambda: self._read_offset >= offset, timeout):
                raise TimeoutError(f"namespace {namespace.name} not read back within {timeout}s")
        return namespace

    def unregister(self, name: str, timeout: float = 30.0) -> None:
        """Writes the tombstone of a namespace name and waits to read it back.

        Raises:
            TimeoutError: The write was not confirmed and read back within ``timeout``.
            RuntimeError: Kafka refused the write.
        """
        offset = self._produce(name.encode(), None, timeout)
        with self._progress:
            if not self._progress.wait_for(lambda: self._read_offset >= offset, timeout):
                raise TimeoutError(f"namespace {name} removal not read back within {timeout}s")

    def ensure_default(self, timeout: float = 30.0) -> Namespace:
        """Registers namespace ``default`` when the topic has none and returns it."""
        existing = self.get(DEFAULT_NAMESPACE)
        if existing is not None:
            return existing
        return self.register(default_namespace(self.cluster_name), timeout)

    def close(self) -> None:
        """Stops the reader thread and flushes the producer."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._producer is not None:
            self._producer.flush(5.0)
            self._producer = None

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """Folds one topic record into the table; bad records are logged and skipped."""
        import schemas

        if key is None:
            logger.warning("namespace record without key on %s skipped", self.topic)
            return
        if value is None:
            self.remove(key.decode())
            return
        try:
            namespace = Namespace.from_record(schemas.decode(value, schemas.NAMESPACE))
        except (schemas.SchemaError, KeyError, ValueError):
            logger.exception("undecodable namespace record %r on %s skipped", key, self.topic)
            return
        self.put(namespace)

    def _produce(self, key: bytes, value: bytes | None, timeout: float) -> int:
        from streams.connection import Producer

        if self._producer is None:
            self._producer = Producer(
                {
                    "bootstrap.servers": self.bootstrap,
                    "acks": "all",
                    "enable.idempotence": True,
                    **self._extra_producer,
                }
            )
        result: dict[str, Any] = {}

        def delivered(err: Any, msg: Any) -> None:
            result["err"], result["offset"] = err, None if err else msg.offset()

        self._producer.produce(self.topic, key=key, value=value, on_delivery=delivered)
        self._producer.flush(timeout)
        if "err" not in result:
            raise TimeoutError(f"write to {self.topic} not confirmed within {timeout}s")
        if result["err"] is not None:
            raise RuntimeError(f"write to {self.topic} failed: {result['err']}")
        return int(result["offset"])

    def _run(self, consumer: Any) -> None:
        from confluent_kafka import KafkaError

        try:
            while not self._stop.is_set():
                msg = consumer.poll(0.1)
                if msg is None:
                    continue
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        with self._progress:
                            self._caught_up = True
                            self._progress.notify_all()
                    else:
                        logger.warning("namespaces reader on %s: %s", self.topic, error)
                    continue
                self.apply(msg.key(), msg.value())
                with self._progress:
                    self._read_offset = msg.offset()
                    self._progress.notify_all()
        finally:
            consumer.close()
