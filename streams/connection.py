"""Kafka client settings every Strom client gets: TLS, SASL and other librdkafka properties.

A process configures them once at startup (``configure``, from ``--kafka-config`` flags or a
properties file), or they come from the file named by ``$STROM_KAFKA_CONFIG``. Strom's modules
build their clients with this module's ``Producer``, ``Consumer`` and ``AdminClient``, which add
these settings under the ones Strom sets itself (``bootstrap.servers``, ``transactional.id``,
``isolation.level``...): a security setting can never weaken a correctness setting.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import confluent_kafka
from confluent_kafka.admin import AdminClient as _AdminClient

ENV_CONFIG_FILE = "STROM_KAFKA_CONFIG"
"""Environment variable naming a properties file of librdkafka settings."""

_lock = threading.Lock()
_settings: dict[str, str] | None = None  # None: not configured yet, read the environment
_statistics_sink: Callable[[str], None] | None = None


class KafkaConfigError(ValueError):
    """A Kafka client setting cannot be read or librdkafka does not know it."""


def parse_properties(text: str, source: str = "properties") -> dict[str, str]:
    """Reads ``key=value`` lines (``#``/``!`` comments, blank lines), as a Java properties file.

    Raises:
        KafkaConfigError: A line has no ``=`` or an empty key.
    """
    settings: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise KafkaConfigError(f"{source}:{number}: expected KEY=VALUE, got {line!r}")
        settings[key.strip()] = value.strip()
    return settings


def parse_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """Reads ``KEY=VALUE`` command-line items.

    Raises:
        KafkaConfigError: An item has no ``=`` or an empty key.
    """
    return parse_properties("\n".join(pairs), "--kafka-config")


def load(files: Iterable[Path] = (), pairs: Iterable[str] = ()) -> dict[str, str]:
    """The settings of properties files, then of ``KEY=VALUE`` items (later ones win).

    Raises:
        KafkaConfigError: A file cannot be read or an entry is malformed.
    """
    settings: dict[str, str] = {}
    for path in files:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise KafkaConfigError(f"cannot read Kafka settings {path}: {exc}") from exc
        settings.update(parse_properties(text, str(path)))
    settings.update(parse_pairs(pairs))
    return settings


def validate(settings: Mapping[str, str]) -> None:
    """Asks librdkafka whether it knows every property and accepts every value.

    Raises:
        KafkaConfigError: It does not (its message names the property).
    """
    if not settings:
        return
    probe = {**settings, "bootstrap.servers": "127.0.0.1:1", "log_level": 0}
    for kind in (confluent_kafka.Producer, confluent_kafka.Consumer):
        extra = {"group.id": "strom-config-check"} if kind is confluent_kafka.Consumer else {}
        try:
            client = kind({**probe, **extra, "error_cb": _ignore})
        except (confluent_kafka.KafkaException, ValueError, TypeError) as exc:
            raise KafkaConfigError(f"invalid Kafka client setting: {exc}") from exc
        del client


def _ignore(_error: Any) -> None:
    pass


def configure(settings: Mapping[str, str]) -> None:
    """Sets the settings of every Kafka client this process creates from now on."""
    global _settings
    with _lock:
        _settings = dict(settings)


def settings() -> dict[str, str]:
    """The settings added to every client: configured ones, else ``$STROM_KAFKA_CONFIG``'s.

    Raises:
        KafkaConfigError: The environment names a file that cannot be read.
    """
    global _settings
    with _lock:
        if _settings is None:
            path = os.environ.get(ENV_CONFIG_FILE)
            _settings = load([Path(path)]) if path else {}
        return dict(_settings)


def on_statistics(sink: Callable[[str], None] | None) -> None:
    """Hands librdkafka's statistics (JSON) of every client created from now on to `sink`.

    Only clients whose settings ask for them (``statistics.interval.ms`` above 0, e.g. through
    ``--kafka-config``) emit statistics, and only where no ``stats_cb`` of their own is set.
    """
    global _statistics_sink
    _statistics_sink = sink


def client_settings(own: Mapping[str, Any]) -> dict[str, Any]:
    """The configured settings with a client's own on top."""
    merged = {**settings(), **own}
    sink = _statistics_sink
    if sink is not None and "stats_cb" not in merged:
        try:
            interval = int(merged.get("statistics.interval.ms", 0))
        except (TypeError, ValueError):
            interval = 0  # librdkafka refuses the value itself, with its own message
        if interval > 0:
            merged["stats_cb"] = sink
    return merged


class Producer(confluent_kafka.Producer):
    """confluent_kafka's Producer with the process's Kafka client settings."""

    def __init__(self, config: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(client_settings(config), **kwargs)


class Consumer(confluent_kafka.Consumer):
    """confluent_kafka's Consumer with the process's Kafka client settings."""

    def __init__(self, config: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(client_settings(config), **kwargs)


class AdminClient(_AdminClient):
    """confluent_kafka's AdminClient with the process's Kafka client settings."""

    def __init__(self, config: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(client_settings(config), **kwargs)
