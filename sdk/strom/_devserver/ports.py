"""Port checks done before a server starts, and free-port picking for tests."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterable

from strom._devserver.errors import PortInUseError

HOST = "127.0.0.1"


def port_is_free(port: int, host: str = HOST) -> bool:
    """Tells whether a server could listen on `host:port` now.

    SO_REUSEADDR is set as the JVM servers set it, so a port held only by sockets in
    TIME_WAIT counts as free, and a listener on 0.0.0.0 counts as taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def check_ports_free(ports: Iterable[tuple[int, str]], server: str, hint: str) -> None:
    """Raises `PortInUseError` for the first taken port.

    Args:
        ports: (port, what it is for) pairs.
        server: The server that wants them, for the message.
        hint: How to use an already running server or other ports instead.
    """
    for port, purpose in ports:
        if not port_is_free(port):
            raise PortInUseError(
                f"Port {port} ({server} {purpose}) on {HOST} is already in use. "
                f"Stop whatever listens there (`ss -ltnp 'sport = :{port}'` shows it), "
                f"or {hint}."
            )


def free_port(count: int = 1, host: str = HOST, attempts: int = 200) -> int:
    """Returns a port p such that p .. p+count-1 are all free now.

    Args:
        count: How many consecutive ports are needed (Kafka wants its controller at p+1).
        host: The interface to check.
        attempts: How many kernel-chosen candidates to try.
    """
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        if port + count - 1 < 65536 and all(
            port_is_free(p, host) for p in range(port, port + count)
        ):
            return port
    raise RuntimeError(f"no {count} consecutive free ports found on {host}")


def port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """Tells whether something accepts TCP connections on `host:port`."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False
