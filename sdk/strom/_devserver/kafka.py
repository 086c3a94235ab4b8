"""A single-node Apache Kafka broker in KRaft mode (broker and controller in one JVM)."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path

from strom._devserver import fetch, paths
from strom._devserver.errors import DevServerError, KafkaFormatError
from strom._devserver.java import find_java
from strom._devserver.ports import HOST, check_ports_free, port_open
from strom._devserver.process import DEFAULT_STOP_TIMEOUT_S, ManagedProcess

LOG4J2_CONFIG = "kafka-log4j2.yaml"

# The quick compiler (C1) only. `bench/bench_breakdown.py` at C=100, 1,000 workflows after the
# 300-workflow warm-up, on a fresh broker: with C2 the broker took 14.0 ms of CPU per workflow,
# 7.6 of them compiling (C2 was still at work after 1,300 workflows); with C1 only, 9.1 ms,
# 0.1 compiling. C2's code is faster once compiled (6.1 against 8.6 ms per workflow of the
# broker's own work), which pays only on a broker that runs far longer than a dev session;
# a production cluster runs its own brokers with their own JVM settings.
KAFKA_JAVA_OPTS: tuple[str, ...] = ("-Xms256m", "-Xmx1g", "-XX:TieredStopAtLevel=1")
_FORMAT_TIMEOUT_S = 180.0

# Broker settings beyond listeners and paths: a single node, sized for a small dev machine.
_SETTINGS: dict[str, str] = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.listener.names": "CONTROLLER",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "8",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "4",
    "transaction.max.timeout.ms": "900000",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    "auto.create.topics.enable": "false",
    "num.partitions": "1",
}


def render_server_properties(
    port: int,
    controller_port: int,
    log_dir: Path,
    sasl_users: Mapping[str, str] | None = None,
) -> str:
    """Returns the broker's server.properties for the given ports and data directory.

    With `sasl_users` (name -> password) the client listener speaks SASL_PLAINTEXT and
    accepts those users with the PLAIN mechanism; the controller listener stays internal.

    Raises:
        DevServerError: A user name or password the JAAS line cannot hold.
    """
    settings = dict(_SETTINGS)
    listener = "PLAINTEXT"
    extra: list[str] = []
    if sasl_users:
        listener = "SASL_PLAINTEXT"
        settings["listener.security.protocol.map"] = (
            "CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT"
        )
        extra = [
            "inter.broker.listener.name=SASL_PLAINTEXT",
            "sasl.enabled.mechanisms=PLAIN",
            "sasl.mechanism.inter.broker.protocol=PLAIN",
            f"listener.name.sasl_plaintext.plain.sasl.jaas.config={_plain_jaas(sasl_users)}",
        ]
    lines = [
        "# Written by strom's dev server at every start; edits are overwritten.",
        f"controller.quorum.bootstrap.servers={HOST}:{controller_port}",
        f"listeners={listener}://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        f"advertised.listeners={listener}://{HOST}:{port}",
        f"log.dirs={log_dir}",
        *(f"{key}={value}" for key, value in settings.items()),
        *extra,
    ]
    return "\n".join(lines) + "\n"


_JAAS_SAFE = re.compile(r"^[A-Za-z0-9._~!@#$%^&*()+=,:/?<>\[\]{}|-]+$")


def _plain_jaas(users: Mapping[str, str]) -> str:
    """The PlainLoginModule line: the broker logs in as the first user and accepts them all."""
    for name, password in users.items():
        for what, text in (("user name", name), ("password", password)):
            if not _JAAS_SAFE.match(text):
                raise DevServerError(
                    f"Kafka SASL {what} {text!r} must be non-empty, without spaces, quotes, "
                    "backslashes or semicolons"
                )
    first, password = next(iter(users.items()))
    accepted = " ".join(f'user_{name}="{pw}"' for name, pw in users.items())
    return (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{first}" password="{password}" {accepted};'
    )


def new_cluster_id() -> str:
    """Returns a random Kafka cluster id, as `kafka-storage random-uuid` makes them.

    The id is the URL-safe base64 of 16 random bytes without padding; like Kafka, ids that
    start with '-' are avoided because they read as command-line options.
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


class KafkaNode:
    """A real single-node Kafka broker whose storage lives in `data_dir`.

    The storage is formatted once; later starts reuse it (topics, offsets and the cluster id
    survive) unless `start(fresh=True)` wipes `data_dir` first.

    Args:
        data_dir: Holds server.properties, the cluster id, the log and the broker's data.
        port: The PLAINTEXT listener clients bootstrap from.
        controller_port: The KRaft controller listener.
        sasl_users: When given (name -> password), clients must authenticate with SASL/PLAIN
            as one of these users (listener SASL_PLAINTEXT).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int = 19092,
        controller_port: int = 19093,
        sasl_users: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.controller_port = controller_port
        self.sasl_users = dict(sasl_users or {})
        if self.sasl_users:
            _plain_jaas(self.sasl_users)  # refuse bad names before anything starts
        self._process: ManagedProcess | None = None

    def client_settings(self) -> dict[str, str]:
        """librdkafka settings a client needs besides bootstrap.servers (the first user's)."""
        if not self.sasl_users:
            return {}
        name, password = next(iter(self.sasl_users.items()))
        return {
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN",
            "sasl.username": name,
            "sasl.password": password,
        }

    @property
    def bootstrap(self) -> str:
        """The `bootstrap.servers` value for clients."""
        return f"{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where the broker's output goes."""
        return self.data_dir / "kafka.log"

    @property
    def install_dir(self) -> Path:
        """The cached Kafka install (shared by all nodes)."""
        return paths.kafka_home()

    @property
    def cluster_id(self) -> str | None:
        """The cluster id the storage was formatted with, None before the first start."""
        path = self.data_dir / "cluster.id"
        return path.read_text().strip() if path.is_file() else None

    @property
    def running(self) -> bool:
        """Whether the broker process was started and is still alive."""
        return self._process is not None and self._process.running

    @property
    def process(self) -> ManagedProcess | None:
        """The broker's process once started."""
        return self._process

    def check_prerequisites(self) -> None:
        """Fails fast, before any download: Java must exist and the ports must be free.

        Raises:
            JavaNotFoundError: No Java runtime.
            PortInUseError: A listener port is taken.
        """
        find_java()
        check_ports_free(
            [(self.port, "client listener"), (self.controller_port, "controller listener")],
            "Kafka",
            "use a broker that is already running by setting STROM_KAFKA_BOOTSTRAP, "
            "or choose other ports with --kafka-port",
        )

    def ensure_installed(self) -> bool:
        """Fetches the broker jars into the cache unless present; returns True if it fetched."""
        return fetch.fetch_kafka(self.install_dir)

    def start(self, fresh: bool = False) -> None:
        """Starts the broker (formatting the storage on first use) without waiting for it.

        Args:
            fresh: Wipe `data_dir` first: a new, empty cluster.

        Raises:
            DevServerError: Java missing, port taken, fetch or format failed.
        """
        if self.running:
            raise RuntimeError(f"Kafka in {self.data_dir} is already running")
        self.check_prerequisites()
        if fresh and self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self.ensure_installed()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        properties = self.data_dir / "server.properties"
        properties.write_text(
            render_server_properties(
                self.port, self.controller_port, self._storage_dir, self.sasl_users
            )
        )
        if not (self._storage_dir / "meta.properties").is_file():
            self._format(properties)
        self._process = ManagedProcess(
            "Kafka", self._java_argv("kafka.Kafka", properties), self.log_path
        )
        self._process.start()

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Waits until the broker answers metadata requests and lists itself.

        Raises:
            ProcessExitedError: The broker exited first (the message holds its log tail).
            NotHealthyError: Not ready within `timeout` seconds.
        """
        if self._process is None:
            raise RuntimeError("Kafka was not started")
        self._process.wait_ready(self._probe, timeout)

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> None:
        """Stops the broker (SIGTERM, then SIGKILL after `timeout`); idempotent."""
        if self._process is not None:
            self._process.stop(timeout)

    @property
    def _storage_dir(self) -> Path:
        return self.data_dir / "data"

    def _java_argv(self, main_class: str, *args: Path | str) -> list[str]:
        return [
            str(find_java()),
            *KAFKA_JAVA_OPTS,
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={fetch.package_file(LOG4J2_CONFIG)}",
            "-cp",
            f"{self.install_dir / 'libs'}/*",
            main_class,
            *(str(arg) for arg in args),
        ]

    def _format(self, properties: Path) -> None:
        # A storage dir without meta.properties is from an interrupted format: start over.
        shutil.rmtree(self._storage_dir, ignore_errors=True)
        cluster_id = self.cluster_id or new_cluster_id()
        argv = self._java_argv(
            "kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id, "-c", properties
        )
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=_FORMAT_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            tail = "\n".join(done.stdout.splitlines()[-30:])
            raise KafkaFormatError(
                f"Formatting Kafka's storage in {self._storage_dir} failed (exit code "
                f"{done.returncode}). Retry with a fresh data dir (--fresh); output:\n{tail}"
            )
        (self.data_dir / "cluster.id").write_text(cluster_id + "\n")

    def _probe(self) -> bool:
        if not port_open(self.port):
            return False
        # Imported here: the rest of the dev server must not need librdkafka to load.
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(
            {"bootstrap.servers": self.bootstrap, "log_level": 0, **self.client_settings()}
        )
        try:
            metadata = admin.list_topics(timeout=2)
        except KafkaException:
            return False
        return bool(metadata.brokers)
