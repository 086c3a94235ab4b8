"""streams.direct: the frames of direct inputs and the listening side, on loopback."""

from __future__ import annotations

import socket
import time

import pytest

from streams.direct import (
    ACK,
    DirectInput,
    DirectRecord,
    FrameReader,
    advertised_address,
    encode_frame,
)


def test_frames_cut_from_a_stream_that_arrives_byte_by_byte() -> None:
    stream = (
        encode_frame(3, b"ns/wf", b"value-1")
        + encode_frame(0, None, b"")
        + encode_frame(7, b"", b"v" * 1000)
    )
    reader = FrameReader()
    records = []
    for i in range(len(stream)):
        records += reader.feed(stream[i : i + 1])
    assert records == [(3, b"ns/wf", b"value-1"), (0, None, b""), (7, None, b"v" * 1000)]


def test_a_frame_that_announces_an_impossible_size_is_refused() -> None:
    reader = FrameReader()
    with pytest.raises(ValueError, match="bad frame"):
        reader.feed(b"\xff\xff\xff\xff" + b"\x00" * 8)
    with pytest.raises(ValueError, match="bad frame"):
        FrameReader().feed(b"\x00\x00\x00\x08\x00\x00\x00\x01\x00\x00\x00\x09")


@pytest.mark.parametrize(
    ("client_id", "address"),
    [
        ("strom.history-0@127.0.0.1:4711", "127.0.0.1:4711"),
        ("strom.history-a@b@host:1", "host:1"),
        ("strom.history-0", None),
        ("strom.history-0@nohost", None),
        ("strom.history-0@host:port", None),
        ("", None),
    ],
)
def test_the_address_a_client_id_advertises(client_id: str, address: str | None) -> None:
    assert advertised_address(client_id) == address


def test_a_direct_record_looks_like_a_message_without_a_position() -> None:
    record = DirectRecord("t.inbox", 2, b"k", b"v")
    assert (record.topic(), record.partition(), record.key(), record.value()) == (
        "t.inbox",
        2,
        b"k",
        b"v",
    )
    assert record.offset() is None and record.error() is None and record.headers() is None


def _drain_until(direct: DirectInput, count: int) -> list[tuple[int, bytes | None, bytes]]:
    records: list[tuple[int, bytes | None, bytes]] = []
    deadline = time.monotonic() + 10
    while len(records) < count and time.monotonic() < deadline:
        records += direct.drain()
    return records


def test_records_of_several_connections_arrive_in_order_per_connection() -> None:
    direct = DirectInput("127.0.0.1")
    host, port = direct.address.rsplit(":", 1)
    a = socket.create_connection((host, int(port)))
    b = socket.create_connection((host, int(port)))
    try:
        for i in range(50):
            a.sendall(encode_frame(1, b"a", b"a%d" % i))
            b.sendall(encode_frame(2, b"b", b"b%d" % i))
        records = _drain_until(direct, 100)
        assert [v for p, _, v in records if p == 1] == [b"a%d" % i for i in range(50)]
        assert [v for p, _, v in records if p == 2] == [b"b%d" % i for i in range(50)]
        assert direct.drain() == []  # nothing waits: no wait, no record
    finally:
        a.close()
        b.close()
        direct.close()


def test_a_confused_peer_is_disconnected_and_others_go_on() -> None:
    direct = DirectInput("127.0.0.1")
    host, port = direct.address.rsplit(":", 1)
    bad = socket.create_connection((host, int(port)))
    good = socket.create_connection((host, int(port)))
    try:
        bad.sendall(b"\xff" * 12)
        good.sendall(encode_frame(0, None, b"fine"))
        assert _drain_until(direct, 1) == [(0, None, b"fine")]
        bad.settimeout(5)
        assert bad.recv(1) == b""  # closed by the listener
    finally:
        bad.close()
        good.close()
        direct.close()


def test_close_ends_the_callers_connections() -> None:
    direct = DirectInput("127.0.0.1")
    host, port = direct.address.rsplit(":", 1)
    caller = socket.create_connection((host, int(port)))
    try:
        caller.sendall(encode_frame(0, None, b"x"))
        assert _drain_until(direct, 1) == [(0, None, b"x")]
        direct.close()
        caller.settimeout(5)
        assert caller.recv(1) == b""
    finally:
        caller.close()


def test_a_port_in_use_fails_at_once() -> None:
    direct = DirectInput("127.0.0.1")
    try:
        port = int(direct.address.rsplit(":", 1)[1])
        with pytest.raises(OSError):
            DirectInput("127.0.0.1", port)
    finally:
        direct.close()


def test_acknowledgements_count_the_records_each_connection_brought() -> None:
    direct = DirectInput("127.0.0.1")
    host, port = direct.address.rsplit(":", 1)
    a = socket.create_connection((host, int(port)))
    b = socket.create_connection((host, int(port)))
    try:
        a.sendall(encode_frame(0, None, b"1") + encode_frame(0, None, b"2"))
        b.sendall(encode_frame(1, None, b"3"))
        assert len(_drain_until(direct, 3)) == 3
        sealed = direct.received()  # as a transaction is sealed
        assert sorted(sealed.values()) == [1, 2]
        a.sendall(encode_frame(0, None, b"4"))  # taken after the seal: not acknowledged yet
        assert len(_drain_until(direct, 1)) == 1
        direct.acknowledge(sealed)  # that transaction committed
        a.settimeout(5)
        b.settimeout(5)
        assert ACK.unpack(a.recv(ACK.size)) == (2,)
        assert ACK.unpack(b.recv(ACK.size)) == (1,)
        # A caller that went away before the commit landed is skipped, not an error.
        b.close()
        deadline = time.monotonic() + 10
        while len(direct.received()) > 1 and time.monotonic() < deadline:
            direct.drain()  # sees the end of b's connection
        assert len(direct.received()) == 1
        direct.acknowledge(sealed)
        assert ACK.unpack(a.recv(ACK.size)) == (2,)
    finally:
        a.close()
        b.close()
        direct.close()
