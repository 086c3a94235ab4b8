"""Acknowledgements as UDP datagrams: a fast path beside the Kafka topic that carries them.

An acknowledgement (`Context.send_after_commit`) always goes to its Kafka topic. A caller
that also names a datagram address ("host:port", an IPv4 address or a name that resolves to
one) gets it there too, without the produce-to-fetch hop through the broker; whichever copy
arrives first answers it, and the other is dropped by the caller. A lost datagram therefore
costs only the time the Kafka copy takes, so nothing here retries or reports.
"""

from __future__ import annotations

import functools
import logging
import socket

log = logging.getLogger(__name__)

MAX_DATAGRAM_BYTES = 60_000
"""Larger acknowledgements go through Kafka only (a UDP datagram holds at most 65,507 B)."""


@functools.lru_cache(maxsize=256)
def parse_address(text: str) -> tuple[str, int] | None:
    """The IPv4 socket address of "host:port", resolved once; None if it is not one."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    try:
        return socket.gethostbyname(host), int(port)
    except OSError:
        return None


class DatagramSender:
    """Sends acknowledgements as datagrams; safe to share between threads."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setblocking(False)
        self._closed = False

    def send(self, value: bytes, address: str) -> None:
        """Sends `value` to `address` if it fits and the address is one; never raises."""
        if self._closed or len(value) > MAX_DATAGRAM_BYTES:
            return
        target = parse_address(address)
        if target is None:
            return
        try:
            self._socket.sendto(value, target)
        except OSError as exc:  # a full buffer, an unreachable host: the Kafka copy answers
            log.debug("acknowledgement datagram to %s not sent: %s", address, exc)

    def close(self) -> None:
        """Closes the socket; later sends do nothing."""
        self._closed = True
        self._socket.close()
