"""Settings of the frontend process, with Temporal's defaults where Temporal has one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from frontend.auth import Authorizer


@dataclass(frozen=True)
class FrontendConfig:
    """How the frontend listens, limits and waits.

    Attributes:
        host: Interface to bind; loopback unless told otherwise (0.0.0.0 for all).
        port: gRPC port (Temporal's 7233); 0 picks a free one.
        cluster_name: Strom cluster name (the Kafka topic prefix); shown as Temporal's
            cluster name and active cluster.
        server_version: Version reported by GetSystemInfo/GetClusterInfo. Strom speaks the
            API of this Temporal server version, and clients gate features on it.
        history_shard_count: Shard count reported by GetClusterInfo (informational).
        initial_failover_version: The failover versions this cluster owns (Temporal's
            initial_failover_version; unique among clusters that replicate together).
        namespace_rps: Sustained requests per second allowed per namespace (Temporal's
            frontend.namespaceRPS default is 2400).
        namespace_burst: Bucket size of the per-namespace limiter.
        persistence_max_qps: Commands per second this frontend may produce to the history
            inbox (Temporal's frontend.persistenceMaxQPS, default 2000); 0 = unlimited.
        max_id_length: Longest workflow id, type, task queue, request id, identity
            (Temporal's limit.maxIDLength).
        blob_size_limit_error: Largest payload accepted in one event (limit.blobSize.error).
        visibility_max_page_size: Largest List page (frontend.visibilityMaxPageSize).
        history_max_page_size: Default and largest GetWorkflowExecutionHistory page.
        history_timeout_s: How long a request waits for the history process's reply
            when the client set no shorter deadline.
        visibility_timeout_s: How long a list or count query may take.
        task_poll_max_s: Longest task long-poll before an empty response
            (matching.longPollExpirationInterval).
        history_poll_max_s: Longest history long-poll before an empty response
            (history.longPollExpirationInterval).
        long_poll_tail_s: Room left before the client's deadline so the empty response
            arrives in time (Temporal's longPollTailRoom / returnEmptyTaskTimeBudget).
        history_recheck_min_s: First pause between re-asks of a history long-poll.
        history_recheck_max_s: Longest pause between re-asks of a history long-poll.
        shutdown_grace_s: How long stopping waits for calls in flight.
        namespace_min_retention_ms: Shortest namespace retention accepted (Temporal's
            system.namespaceMinRetentionLocal, one hour).
        tls: Serve TLS with this certificate (None: plaintext, for loopback only).
        authorizer: Check every call's bearer token against its RPC's required role
            (None: every call is allowed, Temporal's default).
    """

    host: str = "127.0.0.1"
    port: int = 7233
    cluster_name: str = "strom"
    initial_failover_version: int = 1
    server_version: str = "1.32.0"
    history_shard_count: int = 0
    namespace_rps: float = 2400.0
    namespace_burst: int = 4800
    persistence_max_qps: float = 2000.0
    max_id_length: int = 1000
    blob_size_limit_error: int = 2 * 1024 * 1024
    visibility_max_page_size: int = 1000
    history_max_page_size: int = 256
    history_timeout_s: float = 30.0
    visibility_timeout_s: float = 10.0
    task_poll_max_s: float = 60.0
    history_poll_max_s: float = 20.0
    long_poll_tail_s: float = 1.0
    history_recheck_min_s: float = 0.02
    history_recheck_max_s: float = 0.5
    shutdown_grace_s: float = 5.0
    namespace_min_retention_ms: int = 3600 * 1000
    tls: TlsConfig | None = None
    authorizer: Authorizer | None = None


@dataclass(frozen=True)
class TlsConfig:
    """The frontend's TLS: its certificate and, for mutual TLS, the CA clients must present.

    Attributes:
        cert: PEM certificate chain of the server.
        key: PEM private key of the certificate.
        client_ca: PEM CA certificates; when set, a client must present a certificate it
            signed (mTLS), as Temporal's `requireClientAuth`.
    """

    cert: bytes
    key: bytes
    client_ca: bytes | None = None

    @classmethod
    def from_files(cls, cert: Path, key: Path, client_ca: Path | None = None) -> TlsConfig:
        """Reads the PEM files.

        Raises:
            OSError: A file cannot be read.
            ValueError: A file holds no PEM data.
        """
        values = [
            path.read_bytes() if path is not None else None for path in (cert, key, client_ca)
        ]
        for path, data in zip((cert, key, client_ca), values, strict=True):
            if data is not None and b"-----BEGIN " not in data:
                raise ValueError(f"{path} holds no PEM data")
        return cls(values[0], values[1], values[2])  # type: ignore[arg-type]
