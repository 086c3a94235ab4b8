"""`--reply-datagram-host`: an interface history can send reply datagrams to."""

from __future__ import annotations

import argparse

import pytest

from schemas.clients.history import datagram_host


def test_an_address_or_a_name_of_one_is_taken_as_the_address() -> None:
    assert datagram_host("127.0.0.1") == "127.0.0.1"
    assert datagram_host("localhost") == "127.0.0.1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0.0.0.0", "not the wildcard 0.0.0.0"),
        ("no-such-host.invalid", "is not an IPv4 address or host name"),
        ("::1", "is not an IPv4 address or host name"),
    ],
)
def test_a_wildcard_or_an_unknown_host_is_refused(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        datagram_host(text)
