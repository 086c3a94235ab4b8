"""The history client's direct path: commands over TCP to the process that owns their shard.

A history process started with a command host takes commands for the shards it owns over a
connection (`streams.direct`) and advertises where in its consumer `client.id`. The history
client finds the owner of a command's shard in the group's description (`GroupDirectory`) and
sends the command there instead of producing it to the inbox. The inbox stays the way for
everything else:

- no owner known, no address advertised, or the connection cannot be opened;
- the history answered `Reply.shard_moved` (the shard moved, or a completion came before its
  task's start, which is still in the inbox);
- the connection ended before the command was answered (or, for a command that wants no
  answer, before the history acknowledged its commit): the command is produced to the inbox
  after a short grace for answers still on their way (`RESEND_GRACE_SECONDS`). If it had
  committed already, the request's own idempotency answers the second copy, as it answers a
  client's retry.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
from collections.abc import Callable

from streams.direct import ACK, encode_frame

log = logging.getLogger(__name__)

RESEND_GRACE_SECONDS = 0.3
"""After a connection ended, how long its unanswered commands wait for answers still on their
way before they are produced to the inbox."""

MAX_UNSENT_BYTES = 16 * 1024 * 1024
"""Commands written to a connection but not yet taken by the history, above which further
commands go to the inbox instead."""

# command id -> (record, key, shard, one way) of a command sent over a link and not answered
# (one way: none will come; kept until the history acknowledges it, `streams.direct`)
Sent = dict[str, tuple[bytes, bytes, int, bool]]


class _Link:
    """One connection to a history process's direct input."""

    def __init__(self, address: str, loop: asyncio.AbstractEventLoop) -> None:
        self.address = address
        self.ready: asyncio.Future[asyncio.StreamWriter | None] = loop.create_future()
        self.sent: Sent = {}
        self.written = 0  # frames written
        self.one_way: collections.deque[tuple[int, str]] = collections.deque()  # (frame, id)
        self.task: asyncio.Task[None] | None = None

    def acknowledged(self, count: int) -> None:
        """The history committed the first `count` frames: their one-way commands are safe."""
        while self.one_way and self.one_way[0][0] <= count:
            _, command_id = self.one_way.popleft()
            self.sent.pop(command_id, None)


class DirectLinks:
    """The open connections of one history client, one per history process.

    Must be used on one event loop. `on_lost` gets the unanswered commands of a connection
    that ended (its owner stopped or died).
    """

    def __init__(self, on_lost: Callable[[str, Sent], None]) -> None:
        self._on_lost = on_lost
        self._links: dict[str, _Link] = {}
        self._closed = False

    async def send(
        self,
        address: str,
        command_id: str,
        shard: int,
        key: bytes,
        record: bytes,
        one_way: bool = False,
    ) -> bool:
        """Writes a command to the connection to `address`, opening it first if needed.

        A `one_way` command (no answer will come) is handed to the kernel before this returns,
        so it reaches the history even if this process dies right after.

        Returns:
            False when no connection could be opened (the caller produces to the inbox).
        """
        if self._closed:
            return False
        link = self._links.get(address)
        if link is None:
            link = _Link(address, asyncio.get_running_loop())
            self._links[address] = link
            link.task = asyncio.create_task(self._run(link), name=f"history-direct-{address}")
        writer = link.ready.result() if link.ready.done() else await asyncio.shield(link.ready)
        if writer is None or writer.is_closing() or self._links.get(address) is not link:
            return False
        if writer.transport.get_write_buffer_size() > MAX_UNSENT_BYTES:
            return False  # the history does not keep up: the inbox holds the surplus
        writer.write(encode_frame(shard, key, record))
        link.written += 1
        link.sent[command_id] = (record, key, shard, one_way)
        if one_way:
            link.one_way.append((link.written, command_id))
            await writer.drain()  # the write buffer's limit is 0: this waits for the kernel
        return True

    def answered(self, address: str, command_id: str) -> None:
        """Forgets a command sent to `address` that was answered (or given up)."""
        link = self._links.get(address)
        if link is not None:
            link.sent.pop(command_id, None)

    async def _run(self, link: _Link) -> None:
        host, _, port = link.address.rpartition(":")
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
        except (OSError, ValueError) as exc:
            log.info("no direct connection to history at %s: %s", link.address, exc)
            self._links.pop(link.address, None)
            link.ready.set_result(None)
            return
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        writer.transport.set_write_buffer_limits(high=0)  # drain() waits for the kernel
        link.ready.set_result(writer)
        try:
            while True:  # acknowledgements, until the history closes the connection
                count = ACK.unpack(await reader.readexactly(ACK.size))[0]
                link.acknowledged(count)
        except asyncio.IncompleteReadError:
            pass
        except OSError as exc:
            log.info("direct connection to history at %s failed: %s", link.address, exc)
        finally:
            if self._links.get(link.address) is link:
                del self._links[link.address]
            writer.close()
            if link.sent and not self._closed:
                self._on_lost(link.address, link.sent)

    def close(self) -> None:
        """Closes every connection (on the loop)."""
        self._closed = True
        for link in list(self._links.values()):
            if link.task is not None:
                link.task.cancel()
            if not link.ready.done():
                link.ready.set_result(None)
        self._links.clear()
