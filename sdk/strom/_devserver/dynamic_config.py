"""`start-dev --dynamic-config-value KEY=VALUE`: Temporal's dynamic config keys as service flags.

The syntax is `temporal server start-dev`'s: the value is JSON (`KEY=50`, `KEY=true`,
`KEY="0s"`), repeatable, the last value of a key wins. Strom has no dynamic config of its
own; each key it honours sets a command-line setting of one of its services (`HONOURED`).
Any other key is reported as ignored, never an error, so the command lines written for the
dev server (the SDK test suites pass many keys) start Strom too.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from strom._devserver.errors import DevServerError


@dataclass(frozen=True)
class Setting:
    """Where a honoured key goes.

    Attributes:
        service: The service (a `strom._services.SERVICE_NAMES` name) whose flag it sets.
        flag: That service's command-line flag.
        integer: The value must be a whole number (else any number).
        minimum: The smallest value allowed.
        meaning: What it sets, for `--help`.
    """

    service: str
    flag: str
    integer: bool
    minimum: float
    meaning: str


HONOURED: dict[str, Setting] = {
    "limit.historyCount.suggestContinueAsNew": Setting(
        "history",
        "--suggest-continue-as-new-count",
        True,
        1,
        "history events from which a started workflow task suggests continue-as-new",
    ),
    "limit.historySize.suggestContinueAsNew": Setting(
        "history",
        "--suggest-continue-as-new-size",
        True,
        1,
        "history bytes from which a started workflow task suggests continue-as-new",
    ),
    **{
        f"limit.{what}.{level}": Setting(
            "history",
            f"--{flag}-limit-{level}",
            True,
            1,
            f"{unit} of a run's history past which "
            + ("the run is terminated" if level == "error" else "a warning is logged"),
        )
        for what, flag, unit in (
            ("historyCount", "history-count", "events"),
            ("historySize", "history-size", "bytes"),
        )
        for level in ("error", "warn")
    },
    "history.persistenceMaxQPS": Setting(
        "history",
        "--persistence-max-qps",
        False,
        0,
        "records per second the history processor may produce (0: unlimited)",
    ),
    "frontend.persistenceMaxQPS": Setting(
        "frontend",
        "--persistence-max-qps",
        False,
        0,
        "commands per second the frontend may put on the history inbox (0: unlimited)",
    ),
    **{
        key: Setting(
            "history",
            f"--max-pending-{what}",
            True,
            0,
            f"pending {what.replace('-', ' ')} a workflow may have (0: no limit)",
        )
        for key, what in (
            ("limit.numPendingActivities.error", "activities"),
            ("limit.numPendingChildExecutions.error", "child-workflows"),
            ("limit.numPendingSignals.error", "signals"),
            ("limit.numPendingCancelRequests.error", "cancel-requests"),
        )
    },
    "frontend.namespaceRPS": Setting(
        "frontend",
        "--namespace-rps",
        False,
        math.ulp(0.0),
        "requests per second per namespace",
    ),
}
"""Temporal's dynamic config keys Strom honours, and the service setting each one sets."""


def parse_pair(text: str) -> tuple[str, Any]:
    """Parses one `KEY=JSON_VALUE` (the argparse type of `--dynamic-config-value`).

    Raises:
        argparse.ArgumentTypeError: No `=`, an empty key, or a value that is not JSON.
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"the value of {key.strip()} must be JSON (strings in double quotes), got {raw!r}"
        ) from None
    return key.strip(), value


@dataclass
class ServiceFlags:
    """What a list of dynamic config values means for Strom's services.

    Attributes:
        args: Extra command-line arguments by service name.
        ignored: The keys Strom does not honour, in the order given.
    """

    args: dict[str, list[str]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    @property
    def warning(self) -> str | None:
        """The line that tells which keys are ignored, None when none is."""
        if not self.ignored:
            return None
        return (
            f"ignoring {len(self.ignored)} dynamic config value(s) Strom has no setting for: "
            f"{', '.join(self.ignored)}"
        )


def service_flags(pairs: Iterable[tuple[str, Any]]) -> ServiceFlags:
    """Maps `KEY=VALUE` pairs onto service flags; a repeated key takes its last value.

    Raises:
        DevServerError: A honoured key has a value of the wrong type or out of range.
    """
    values = dict(pairs)  # last one wins, as in Temporal's map of values
    flags = ServiceFlags()
    for key, value in values.items():
        setting = HONOURED.get(key)
        if setting is None:
            flags.ignored.append(key)
            continue
        flags.args.setdefault(setting.service, []).extend(
            [setting.flag, _number(key, value, setting)]
        )
    return flags


def _number(key: str, value: Any, setting: Setting) -> str:
    """The value as a flag argument, checked."""
    # JSON numbers arrive as int or float (Temporal decodes them all as float64 and accepts
    # a whole float for an integer key); booleans are not numbers here.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DevServerError(f"dynamic config {key} must be a number, got {json.dumps(value)}")
    if setting.integer and value != int(value):
        raise DevServerError(f"dynamic config {key} must be a whole number, got {value}")
    if value < setting.minimum:
        least = "positive" if setting.minimum > 0 else "0 or more"
        raise DevServerError(f"dynamic config {key} must be {least}, got {value}")
    return str(int(value)) if setting.integer else repr(float(value))


def help_text() -> str:
    """The `--dynamic-config-value` help: the syntax and the keys Strom honours."""
    keys = "; ".join(f"{key} ({setting.meaning})" for key, setting in HONOURED.items())
    return (
        "a Temporal dynamic config value as KEY=JSON_VALUE (strings in double quotes), "
        f"repeatable, as `temporal server start-dev` takes it. Strom honours: {keys}. "
        "Other keys are ignored with a warning."
    )
