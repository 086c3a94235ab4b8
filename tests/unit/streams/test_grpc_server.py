"""`streams.grpc_server`: a gRPC server that cannot have its address says so, and a second
server on a port in use fails instead of sharing it."""

from __future__ import annotations

import grpc
import pytest

from streams.grpc_server import SERVER_OPTIONS, BindError, bind

# TEST-NET-1 (RFC 5737): documentation addresses, never one of this machine's.
NOT_HERE = "192.0.2.1"


async def test_a_free_port_is_bound_and_returned() -> None:
    server = grpc.aio.server(options=SERVER_OPTIONS)
    try:
        port = bind(server, "127.0.0.1:0", "the test server")
        assert 0 < port < 65536
    finally:
        await server.stop(None)


async def test_a_second_server_on_a_port_in_use_fails_to_bind_instead_of_sharing_it() -> None:
    first = grpc.aio.server(options=SERVER_OPTIONS)
    second = grpc.aio.server(options=SERVER_OPTIONS)
    try:
        port = bind(first, "127.0.0.1:0", "the first server")
        await first.start()
        with pytest.raises(
            BindError, match=rf"the second server cannot listen on 127\.0\.0\.1:{port}"
        ):
            bind(second, f"127.0.0.1:{port}", "the second server")
    finally:
        await first.stop(None)
        await second.stop(None)


async def test_without_the_options_grpc_would_share_the_port() -> None:
    # What SERVER_OPTIONS is for: with gRPC's default (SO_REUSEPORT on both sockets) the
    # second bind succeeds, and the two servers split the port's connections.
    first = grpc.aio.server()
    second = grpc.aio.server()
    try:
        port = bind(first, "127.0.0.1:0", "the first server")
        await first.start()
        assert bind(second, f"127.0.0.1:{port}", "the second server") == port
    finally:
        await first.stop(None)
        await second.stop(None)


async def test_an_address_of_another_machine_is_refused_with_its_name() -> None:
    server = grpc.aio.server(options=SERVER_OPTIONS)
    try:
        with pytest.raises(BindError, match=rf"matching cannot listen on {NOT_HERE}:7235"):
            bind(server, f"{NOT_HERE}:7235", "matching")
    finally:
        await server.stop(None)


def test_a_bind_error_is_an_os_error() -> None:
    # Callers that already handle a failed listen (OSError) handle this one too.
    assert issubclass(BindError, OSError)
