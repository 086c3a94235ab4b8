"""What the gRPC servers of Strom's services share: their socket options and how they bind.

gRPC sets SO_REUSEPORT on every listening socket on Linux unless told not to. A second
server started on a port already in use then binds without error and takes a share of the
port's new connections: a misconfigured or second frontend would silently answer some of the
first one's clients. `SERVER_OPTIONS` turns that off, so the second server fails to bind, and
`bind` turns that failure into a `BindError` that says which address could not be had.
"""

from __future__ import annotations

import grpc

SERVER_OPTIONS: tuple[tuple[str, int], ...] = (("grpc.so_reuseport", 0),)
"""Options every `grpc.aio.server` of a service gets (beside its own)."""


class BindError(OSError):
    """A gRPC server could not listen on its address (in use, or not this machine's)."""


def bind(
    server: grpc.aio.Server,
    address: str,
    role: str,
    credentials: grpc.ServerCredentials | None = None,
) -> int:
    """Adds the listening port `address` ("host:port"; port 0: a free one) to `server`.

    Args:
        role: What listens, for the error's message (e.g. "the frontend").
        credentials: TLS credentials; None for plaintext.

    Returns:
        The port bound.

    Raises:
        BindError: The address could not be bound.
    """
    try:
        if credentials is None:
            return int(server.add_insecure_port(address))
        return int(server.add_secure_port(address, credentials))
    except RuntimeError as exc:  # how grpcio (pinned in pyproject.toml) reports a failed bind
        raise BindError(
            f"{role} cannot listen on {address}: the port is in use, or the host is not an "
            "address of this machine"
        ) from exc
