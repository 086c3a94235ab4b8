"""The event loop of Strom's asyncio services (frontend, matching): uvloop where it is installed."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")

ENV_VAR = "STROM_EVENT_LOOP"
"""Set to "asyncio" to run on asyncio's own loop even where uvloop is installed."""


def run(main: Coroutine[Any, Any, _T]) -> _T:
    """Runs `main` to completion on uvloop, or on asyncio's own loop.

    uvloop (libuv under asyncio's API) cut the frontend's CPU per workflow by 7 % and
    matching's by 9.5 % in `bench/bench_breakdown.py` (12 runs against 13, alternating). grpc.aio
    wakes the loop through a socket it watches with `add_reader`, which uvloop serves like
    asyncio. asyncio's loop is used where uvloop is not installed (it has no Windows build)
    or when `$STROM_EVENT_LOOP` is "asyncio".
    """
    if os.environ.get(ENV_VAR, "") != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(main)
    return asyncio.run(main)
