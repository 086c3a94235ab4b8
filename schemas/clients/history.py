"""The history client: commands to the history shards over Kafka, replies back.

Lives apart from the history processor it calls (as Temporal's client/history does): the
frontend and matching use it, and nothing here knows how history decides.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Protocol

from confluent_kafka import KafkaError, KafkaException, TopicPartition

import schemas
from schemas import inbox
from schemas.clients.directory import GroupDirectory
from schemas.clients.history_direct import (
    RESEND_GRACE_SECONDS,
    DirectLinks,
    Sent,
)
from schemas.records import ReplyAddress
from schemas.reply import Reply
from schemas.topics import Topology
from streams import metrics
from streams.config import MAX_RECORD_BYTES
from streams.connection import Consumer, Producer
from streams.datagrams import MAX_DATAGRAM_BYTES
from streams.direct import advertised_address
from streams.supervision import OnDeath, log_death, start_thread

log = logging.getLogger(__name__)


class Serializable(Protocol):
    """A request the client can send: a proto, or an internal message of `schemas.inbox`."""

    def SerializeToString(self) -> bytes:
        """The payload bytes of the inbox command."""
        ...


class HistoryCaller(Protocol):
    """Sends a command to the history shard of a workflow and awaits its reply.

    `HistoryClient` implements it; tests use fakes. Application errors come back as a non-OK
    `Reply`, never raised.
    """

    async def call(
        self,
        namespace: str,
        workflow_id: str,
        kind: str,
        request: Serializable | bytes,
        timeout: float,
    ) -> Reply:
        """Sends `request` (a proto or an inbox message with SerializeToString, or bytes) as
        an inbox command of `kind` and awaits the reply.

        Raises:
            TimeoutError: No reply within `timeout` seconds (the shard may be moving).
        """
        ...

    async def post(
        self, namespace: str, workflow_id: str, kind: str, payload: bytes, request_time_ms: int
    ) -> bool:
        """Sends a command that wants no answer straight to the owner of its shard, if it
        takes commands directly; False when it was not sent (the caller produces it to the
        inbox itself)."""
        ...


REPLY_FETCH_WAIT_MS = 1000
"""How long the broker holds a reply reader's fetch when no reply comes (it answers at once
when one does)."""


REPLY_DATAGRAM_BUFFER_BYTES = 4 * 1024 * 1024
"""Receive buffer asked for the reply datagram socket (the kernel may grant less)."""


def datagram_host(text: str) -> str:
    """An argparse type: an interface for reply datagrams, an IPv4 address or a name of one.

    Raises:
        argparse.ArgumentTypeError: A wildcard (0.0.0.0: history would not know where to
            send), or a name that does not resolve to an IPv4 address.
    """
    try:
        address = socket.gethostbyname(text)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IPv4 address or host name") from exc
    if address == "0.0.0.0":
        raise argparse.ArgumentTypeError(
            "name the address history reaches this process at, not the wildcard 0.0.0.0"
        )
    return address


def add_reply_datagram_argument(parser: argparse.ArgumentParser) -> None:
    """Adds --reply-datagram-host, the `datagram_host` of a process's HistoryClient."""
    parser.add_argument(
        "--reply-datagram-host",
        metavar="HOST",
        type=datagram_host,
        help="also take history's replies as UDP datagrams on a port of this interface, "
        "which every history process must reach: a faster path beside the replies topic "
        "(whichever copy comes first answers; default: the topic only)",
    )


class HistoryClient:
    """Sends InboxCommands to the shard of their workflow and awaits their replies.

    Each process that calls must own a distinct partition of the replies topic
    (`reply_partition`): the history sends every reply to the partition named in the command.
    With `datagram_host` the client also takes replies as UDP datagrams on a port of that
    interface, which every history process must reach: history sends each reply there too
    (`streams.datagrams`), and the first copy to arrive answers the call; the topic's copy of
    a reply whose datagram was lost then comes up to about a second later.
    With `direct` (the default) a command goes straight to the history process that owns its
    shard, when that process takes commands over TCP (`schemas.clients.history_direct`);
    otherwise, and whenever that way fails, to the inbox topic.
    Must be started (`start`) on the event loop that awaits `call`.
    """

    def __init__(
        self,
        bootstrap: str,
        topology: Topology,
        reply_partition: int,
        datagram_host: str | None = None,
        direct: bool = True,
    ) -> None:
        if not 0 <= reply_partition < topology.reply_partitions:
            raise ValueError(
                f"reply partition {reply_partition} outside 0..{topology.reply_partitions - 1}"
            )
        self._topology = topology
        self._reply_partition = reply_partition
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                **inbox.PRODUCER_SETTINGS,
                "message.max.bytes": MAX_RECORD_BYTES,
            }
        )
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": topology.reply_reader_group,
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                # A reply ends the broker's wait for the next fetch at once, so this bounds
                # only the fetches of an idle reader, each of which costs the broker CPU: the
                # reader never seeks or changes its assignment, the one thing a fetch parked
                # at the broker would hold back.
                "fetch.wait.max.ms": REPLY_FETCH_WAIT_MS,
                # With datagrams the topic only carries the fallback copies: the broker may
                # gather them for up to REPLY_FETCH_WAIT_MS. A reply too large for a datagram
                # fills the fetch alone and comes at once (`streams.datagrams`).
                "fetch.min.bytes": MAX_DATAGRAM_BYTES if datagram_host is not None else 1,
            }
        )
        self._pending: dict[str, asyncio.Future[Reply]] = {}
        self._owners = (
            GroupDirectory(bootstrap, topology.history_group, topology.inbox, advertised_address)
            if direct
            else None
        )
        self._links = DirectLinks(self._on_link_lost)
        self._datagram_host = datagram_host
        self._datagram_socket: socket.socket | None = None
        self.datagram_address: str | None = None
        """host:port the replies also come to as datagrams, once started (None: off)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.on_death: OnDeath = log_death  # services set it to stop serving and exit

    def start(self) -> None:
        """Positions the reply reader at the end of its partition and starts its thread."""
        self._loop = asyncio.get_running_loop()
        tp = TopicPartition(self._topology.replies, self._reply_partition)
        high = self._end_offset(tp)
        self._consumer.assign([TopicPartition(tp.topic, tp.partition, high)])
        if self._datagram_host is not None:
            self._open_datagram_socket(self._datagram_host)
        for target in (self._read_replies, self._serve_deliveries):
            name = f"history-client-{target.__name__}"
            self._threads.append(start_thread(target, name, self.on_death))

    @property
    def producer(self) -> Producer:
        """The producer the commands go to the inbox with. This client's thread serves its
        delivery reports and `close` flushes it, so another part of the process may send
        with it too (see `matching_processor.service.MatchingService`)."""
        return self._producer

    def _end_offset(self, tp: TopicPartition) -> int:
        # Right after the topics were created the partition may have no leader yet.
        deadline = time.monotonic() + 30
        while True:
            try:
                return int(self._consumer.get_watermark_offsets(tp, timeout=10)[1])
            except KafkaException as exc:
                if time.monotonic() > deadline:
                    raise
                log.info("replies partition not ready yet: %s", exc)
                time.sleep(0.2)

    def _open_datagram_socket(self, host: str) -> None:
        assert self._loop is not None
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, REPLY_DATAGRAM_BUFFER_BYTES)
            sock.bind((host, 0))
            sock.setblocking(False)
            self._loop.add_reader(sock.fileno(), self._read_datagrams)
        except OSError:
            sock.close()
            raise
        self._datagram_socket = sock
        bound_host, port = sock.getsockname()[:2]
        self.datagram_address = f"{bound_host}:{port}"

    def _on_loop(self, action: Callable[[], None], otherwise: Callable[[], None]) -> None:
        """Runs `action` on the client's loop (at once when called on it, else soon), or
        `otherwise` here when that loop is gone (it took its watchers and connections)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            otherwise()
            return
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            action()
            return
        try:  # e.g. closed through asyncio.to_thread: the loop's watchers are its own
            loop.call_soon_threadsafe(action)
        except RuntimeError:  # the loop closed meanwhile
            otherwise()

    def _close_datagram_socket(self, sock: socket.socket) -> None:
        """Stops watching the socket on its loop (from any thread), then closes it."""

        def drop() -> None:
            assert self._loop is not None
            self._loop.remove_reader(sock.fileno())
            sock.close()

        self._on_loop(drop, sock.close)

    def close(self) -> None:
        """Stops the threads and closes the Kafka clients; pending calls fail."""
        self._stop.set()
        self._on_loop(self._links.close, lambda: None)
        sock, self._datagram_socket = self._datagram_socket, None
        if sock is not None:
            self._close_datagram_socket(sock)
        for thread in self._threads:
            thread.join(5)
        self._consumer.close()
        self._producer.flush(5)
        for future in self._pending.values():
            if not future.done():
                future.cancel()

    def _record(
        self,
        namespace: str,
        workflow_id: str,
        kind: str,
        payload: bytes,
        command_id: str,
        one_way_at_ms: int | None = None,
    ) -> tuple[bytes, bytes, int]:
        """(value, key, partition) of an InboxCommand that asks for a reply, or, with
        `one_way_at_ms` (its request time), of one that does not."""
        one_way = one_way_at_ms is not None
        reply_to: ReplyAddress = {
            "topic": self._topology.replies,
            "partition": self._reply_partition,
        }
        record = schemas.encode(
            schemas.INBOX_COMMAND,
            inbox.command_record(
                command_id,
                namespace,
                workflow_id,
                kind,
                payload,
                one_way_at_ms if one_way_at_ms is not None else int(time.time() * 1000),
                None if one_way else reply_to,
                None if one_way else self.datagram_address,
            ),
        )
        key, shard = inbox.placement(namespace, workflow_id, self._topology.shards)
        return record, key, shard

    async def call(
        self,
        namespace: str,
        workflow_id: str,
        kind: str,
        request: Serializable | bytes,
        timeout: float,
    ) -> Reply:
        """Sends a command and awaits its reply.

        A `Reply.shard_moved` answer is never returned: the command is sent again (with a new
        command id) to the shard's next owner, within the same `timeout`.

        Raises:
            TimeoutError: No reply within `timeout` seconds (the shard may be moving).
        """
        assert self._loop is not None, "HistoryClient.start() was not called"
        payload = request if isinstance(request, bytes) else request.SerializeToString()
        async with asyncio.timeout(timeout):
            direct = self._owners is not None
            while True:
                reply = await self._send(namespace, workflow_id, kind, payload, direct)
                if not reply.moved:
                    return reply
                # The command waited on a shard its owner handed over (Temporal's
                # ShardOwnershipLost, which its history client retries too): the shard's next
                # owner gets it now, and reads the inbox once it has restored the shard. A
                # command sent directly may also have come before a record it must follow,
                # which is in the inbox: the inbox takes it behind that record.
                direct = False

    async def _send(
        self, namespace: str, workflow_id: str, kind: str, payload: bytes, direct: bool
    ) -> Reply:
        """Sends one command, to its shard's owner if `direct` and it takes commands, else to
        the inbox, and awaits its reply (the caller bounds the wait)."""
        assert self._loop is not None
        command_id = uuid.uuid4().hex
        future: asyncio.Future[Reply] = self._loop.create_future()
        self._pending[command_id] = future
        record, key, shard = self._record(namespace, workflow_id, kind, payload, command_id)
        address = await self._owner(shard) if direct else None
        try:
            if address is None or not await self._links.send(
                address, command_id, shard, key, record
            ):
                if address is not None and self._owners is not None:
                    self._owners.invalidate()
                await self._produce(record, key, shard)
                metrics.command_sent("inbox")
            else:
                metrics.command_sent("direct")
            return await future
        finally:
            self._pending.pop(command_id, None)
            if address is not None:
                self._links.answered(address, command_id)

    async def post(
        self,
        namespace: str,
        workflow_id: str,
        kind: str,
        payload: bytes,
        request_time_ms: int,
    ) -> bool:
        """Sends a command that wants no answer straight to the owner of its shard.

        It is in the kernel's hands when this returns. If its connection ends before the
        history acknowledged its commit, it is produced to the inbox (history must take a
        second copy as it takes a retry).

        Returns:
            False when no owner of the shard takes commands directly, or its connection cannot
            be opened: the caller produces the command to the inbox itself.
        """
        assert self._loop is not None, "HistoryClient.start() was not called"
        command_id = uuid.uuid4().hex
        record, key, shard = self._record(
            namespace, workflow_id, kind, payload, command_id, request_time_ms
        )
        address = await self._owner(shard)
        if address is None:
            return False
        if not await self._links.send(address, command_id, shard, key, record, one_way=True):
            if self._owners is not None:
                self._owners.invalidate()
            return False
        metrics.command_sent("direct")
        return True

    async def _owner(self, shard: int) -> str | None:
        """The address of the history process that takes the shard's commands directly."""
        if self._owners is None:
            return None
        return await self._owners.owner(shard)

    async def _produce(self, record: bytes, key: bytes, shard: int) -> None:
        """Produces a command to its inbox partition."""
        while True:
            try:
                self._producer.produce(self._topology.inbox, record, key, shard)
                return
            except BufferError:
                # librdkafka's queue is full: the delivery thread drains it meanwhile;
                # wait without blocking the loop (the deadline still applies).
                await asyncio.sleep(0.01)

    def _on_link_lost(self, address: str, sent: Sent) -> None:
        """A connection to a history process ended with commands unanswered: once the
        answers still on their way had their chance, the rest go to the inbox."""
        assert self._loop is not None
        if self._owners is not None:
            self._owners.invalidate()
        unanswered = dict(sent)
        log.info(
            "direct connection to history at %s ended; %d commands go to the inbox",
            address,
            len(unanswered),
        )

        def resend() -> None:
            if self._stop.is_set():
                return  # closed meanwhile: its callers were cancelled
            for command_id, (record, key, shard, one_way) in unanswered.items():
                future = self._pending.get(command_id)
                if not one_way and (future is None or future.done()):
                    continue
                try:
                    self._producer.produce(self._topology.inbox, record, key, shard)
                except (BufferError, KafkaException) as exc:  # its caller times out
                    log.warning("command %s not sent again: %s", command_id, exc)

        self._loop.call_later(RESEND_GRACE_SECONDS, resend)

    def _serve_deliveries(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.1)

    def _read_replies(self) -> None:
        while not self._stop.is_set():
            msg = self._consumer.poll(0.1)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("reply reader: %s", err)
                continue
            value = msg.value()
            if value is None:
                continue
            try:
                decoded = schemas.decode(value, schemas.REPLY)
            except schemas.SchemaError as exc:
                # Not an answer this client can read: its caller times out and retries.
                log.error("undecodable reply at offset %s skipped: %s", msg.offset(), exc)
                continue
            reply = Reply.from_record(decoded)  # type: ignore[arg-type]
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._resolve, decoded["command_id"], reply, "topic")

    def _read_datagrams(self) -> None:
        """Takes the reply datagrams that arrived (on the loop): each answers its call, unless
        its Kafka copy came first."""
        sock = self._datagram_socket
        while sock is not None:
            try:
                value = sock.recv(65536)
            except BlockingIOError:
                return
            except OSError as exc:
                log.warning("reply datagram socket: %s", exc)
                return
            try:
                decoded = schemas.decode(value, schemas.REPLY)
            except schemas.SchemaError as exc:
                log.debug("undecodable reply datagram skipped: %s", exc)  # the topic has it
                continue
            reply = Reply.from_record(decoded)  # type: ignore[arg-type]
            self._resolve(decoded["command_id"], reply, "datagram")

    def _resolve(self, command_id: str, reply: Reply, path: str) -> None:
        future = self._pending.get(command_id)
        if future is not None and not future.done():
            future.set_result(reply)
            metrics.reply_taken(path)
