"""Acknowledgements as UDP datagrams: a fast path beside the Kafka topic that carries them.

An acknowledgement (`Context.send_after_commit`) always goes to its Kafka topic. A caller
that also names a datagram address ("host:port", an IPv4 address or a name that resolves to
one) gets it there too, without the produce-to-fetch hop through the broker; whichever copy
arrives first answers it, and the other is dropped by the caller. A lost datagram therefore
costs only the time the Kafka copy takes, so nothing here retries or reports.

The Kafka copy of an acknowledgement whose datagram left is only that fallback, so neither
side hurries it: the sender batches such copies (`streams.config.BACKUP_ACK_LINGER_MS`) and
the caller's reader lets the broker gather them (`schemas.clients.history`). A lost datagram
then costs up to about a second; the broker handles a few requests a second for the copies
instead of two per acknowledgement.
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

    def send(self, value: bytes, address: str) -> bool:
        """Sends `value` to `address` if it fits and the address is one; never raises.

        Returns:
            True when the datagram left this host's socket (it may still be lost on the way).
        """
        if self._closed or len(value) > MAX_DATAGRAM_BYTES:
            return False
        target = parse_address(address)
        if target is None:
            return False
        try:
            self._socket.sendto(value, target)
        except OSError as exc:  # a full buffer, an unreachable host: the Kafka copy answers
            log.debug("acknowledgement datagram to %s not sent: %s", address, exc)
            return False
        return True

    def close(self) -> None:
        """Closes the socket; later sends do nothing."""
        self._closed = True
        self._socket.close()
