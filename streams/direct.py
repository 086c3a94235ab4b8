"""Direct input: records sent to the owner of their partition over TCP, beside the input topic.

A caller that knows which instance owns a partition of the input topic may send a record
straight to it instead of producing it: the hop through the broker (a produce request and a
fetch) is gone, and so is the broker's CPU for both. The instance processes such a record
exactly as one read from the topic, in the same transaction; what makes the shortcut safe:

- A direct record has no position in the topic, so nothing replays it. Until its transaction
  commits, the instance itself is its only copy. When that transaction aborts, the instance
  produces the record to its topic partition (a spill), where it is processed again like any
  input. A record for a partition the instance does not own, or is still restoring, is
  spilled at once.
- A zombie must not commit it: every transaction sends input positions with the group
  metadata, even one whose inputs were all direct (`streams.commit`, step 2).
- The caller keeps its own copy until it is answered. When the connection ends first (the
  instance died or stopped), it produces the record to the topic itself. The record may then
  have committed already: the requests such records carry must be idempotent under retry,
  as they must be under a client's retry anyway.

Wire format, one frame per record: a 4-byte big-endian length of the rest, the 4-byte
partition, the 4-byte length of the key, the key, the value. The answers go the way the record
itself names (`streams.datagrams`, the reply topic). Back on the connection go only
acknowledgements, each an 8-byte big-endian count: every record the connection brought up to
that count is committed (or spilled to its topic, delivered), so the caller may forget it. A
caller that expects no answer keeps its records until then.

An instance advertises where it listens in its consumer `client.id`, after `ADDRESS_MARK`, so
callers find partition owners in the group's description (as they find matching members).
"""

from __future__ import annotations

import logging
import selectors
import socket
import struct

log = logging.getLogger(__name__)

ADDRESS_MARK = "@"
"""A consumer `client.id` ending in this mark and "host:port" advertises a direct input."""

_HEADER = struct.Struct(">III")  # frame length (after its own 4 bytes), partition, key length
ACK = struct.Struct(">Q")  # records of the connection committed so far
MAX_FRAME_BYTES = 64 * 1024 * 1024 + 1024
"""Frames above this size mean a confused peer: its connection is closed."""
_RECV_BYTES = 256 * 1024


def encode_frame(partition: int, key: bytes | None, value: bytes) -> bytes:
    """One record as it goes over the connection."""
    key = key or b""
    return _HEADER.pack(8 + len(key) + len(value), partition, len(key)) + key + value


def advertised_address(client_id: str) -> str | None:
    """The "host:port" a consumer `client.id` advertises for direct input, if any."""
    _, mark, address = client_id.rpartition(ADDRESS_MARK)
    if not mark:
        return None
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        return None
    return address


class DirectRecord:
    """A direct input, shaped like the `confluent_kafka.Message` a processor gets from a poll.

    It has no offset (`offset()` is None) and no error.
    """

    __slots__ = ("_key", "_partition", "_topic", "_value")

    def __init__(self, topic: str, partition: int, key: bytes | None, value: bytes) -> None:
        self._topic, self._partition, self._key, self._value = topic, partition, key, value

    def error(self) -> None:
        """Never one."""
        return None

    def topic(self) -> str:
        """The input topic whose partition it stands in for."""
        return self._topic

    def partition(self) -> int:
        """Its partition of that topic."""
        return self._partition

    def offset(self) -> None:
        """None: it was never written to the topic."""
        return None

    def key(self) -> bytes | None:
        """The key it would have had in the topic."""
        return self._key

    def value(self) -> bytes:
        """The record."""
        return self._value

    def headers(self) -> None:
        """None: direct records carry none."""
        return None


class FrameReader:
    """Cuts a byte stream into (partition, key, value) records."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes | None, bytes]]:
        """Takes the next bytes; returns the records they complete.

        Raises:
            ValueError: A frame announces an impossible size (not this protocol's peer).
        """
        self._buffer += data
        records: list[tuple[int, bytes | None, bytes]] = []
        buffer, start = self._buffer, 0
        while len(buffer) - start >= _HEADER.size:
            length, partition, key_length = _HEADER.unpack_from(buffer, start)
            if length > MAX_FRAME_BYTES or key_length > length - 8:
                raise ValueError(f"bad frame: length {length}, key length {key_length}")
            end = start + 4 + length
            if len(buffer) < end:
                break
            key_end = start + _HEADER.size + key_length
            key = bytes(buffer[start + _HEADER.size : key_end]) or None
            records.append((partition, key, bytes(buffer[key_end:end])))
            start = end
        del buffer[:start]
        return records


class _Peer:
    """One caller's connection: its records cut so far and the acknowledgement not yet sent."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.reader = FrameReader()
        self.received = 0
        self.unsent = bytearray()
        self.closed = False


class DirectInput:
    """The listening side: accepts callers' connections and reads their records.

    Not thread-safe: the loop that processes the records calls `drain` between its polls,
    so reading costs one `select` with no wait and no thread hand-off.

    Args:
        host: The interface to listen on, which callers must reach (it is advertised).
        port: 0 picks a free port.
    """

    def __init__(self, host: str, port: int = 0) -> None:
        self._selector = selectors.DefaultSelector()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.bind((host, port))
            self._listener.listen(64)
            self._listener.setblocking(False)
        except OSError:
            self._listener.close()
            raise
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        bound_host, bound_port = self._listener.getsockname()[:2]
        self.address = f"{bound_host}:{bound_port}"
        """host:port callers connect to."""

    def drain(self) -> list[tuple[int, bytes | None, bytes]]:
        """The records that arrived since the last call (partition, key, value), in order
        per connection; never waits."""
        records: list[tuple[int, bytes | None, bytes]] = []
        for key, _ in self._selector.select(0):
            if key.data is None:
                self._accept()
                continue
            conn: socket.socket = key.fileobj  # type: ignore[assignment]
            peer: _Peer = key.data
            try:
                data = conn.recv(_RECV_BYTES)
            except BlockingIOError:
                continue
            except OSError as exc:
                log.info("direct input connection failed: %s", exc)
                data = b""
            if not data:
                self._drop(conn)
                continue
            try:
                taken = peer.reader.feed(data)
            except ValueError as exc:
                log.warning("direct input connection closed: %s", exc)
                self._drop(conn)
                continue
            peer.received += len(taken)
            records.extend(taken)
        return records

    def wait(self, timeout: float) -> None:
        """Returns when a connection has something to take (or a caller connects), at the
        latest after `timeout` seconds."""
        self._selector.select(timeout)

    def received(self) -> dict[_Peer, int]:
        """How many records each open connection has brought so far (for `acknowledge`)."""
        return {
            key.data: key.data.received
            for key in self._selector.get_map().values()
            if key.data is not None
        }

    def acknowledge(self, received: dict[_Peer, int]) -> None:
        """Tells each connection that the records counted in `received` (taken before a
        commit that has now landed) are committed; never waits."""
        for peer, count in received.items():
            if peer.closed:
                continue  # gone since: its caller has produced what it held
            peer.unsent += ACK.pack(count)
            try:
                sent = peer.conn.send(peer.unsent)
            except BlockingIOError:
                continue  # the caller does not read: the next acknowledgement tries again
            except OSError:
                continue  # the reading side sees the end
            del peer.unsent[:sent]

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("direct input: accept failed: %s", exc)
                return
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._selector.register(conn, selectors.EVENT_READ, _Peer(conn))

    def _drop(self, conn: socket.socket) -> None:
        peer: _Peer = self._selector.unregister(conn).data
        peer.closed = True
        conn.close()

    def close(self) -> None:
        """Closes every connection (callers then produce what they still hold) and the
        listener."""
        for key in list(self._selector.get_map().values()):
            sock: socket.socket = key.fileobj  # type: ignore[assignment]
            self._selector.unregister(sock)
            if key.data is not None:
                key.data.closed = True
            sock.close()
        self._selector.close()
