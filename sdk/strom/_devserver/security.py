"""`strom server start-dev`'s security flags and how they reach every service it starts.

Kafka client settings (``--kafka-config KEY=VALUE``, ``--kafka-config-file``, or
``$STROM_KAFKA_CONFIG``, as each service takes them) go to every service that talks to Kafka
through one properties file in the data directory, readable by its owner only, so passwords
never show in the process list. ``--kafka-sasl-user NAME:PASSWORD`` makes the dev broker
itself require SASL/PLAIN; its first user is then the clients' default login. The JWT
authorizer's flags go to the frontend.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from schemas import connection
from streams import connection as kafka_connection
from strom._devserver.errors import DevServerError

KAFKA_SERVICES = ("history", "matching", "visibility", "frontend")
"""The services that talk to Kafka (the internal worker only talks to the frontend)."""

CLIENT_PROPERTIES = "kafka-client.properties"
"""The file in the data directory that hands the Kafka client settings to the services."""

_ACCESS_TIMEOUT_S = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the Kafka client, dev-broker SASL and authorization flags to start-dev."""
    connection.add_arguments(parser)  # --kafka-config, --kafka-config-file: every service
    parser.add_argument(
        "--kafka-sasl-user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD",
        help="the dev broker requires SASL/PLAIN and accepts this user (repeatable); Strom's "
        "services log in as the first one unless --kafka-config says otherwise",
    )
    auth = parser.add_argument_group(
        "authorization", "the frontend's JWT authorizer (Temporal's claim mapper); off by default"
    )
    auth.add_argument(
        "--auth-jwks",
        action="append",
        metavar="PATH_OR_URL",
        help="turn authorization on, verifying tokens with the keys of this JWKS file, "
        "file:// or http(s):// URL (repeatable)",
    )
    auth.add_argument(
        "--auth-jwks-refresh", type=float, metavar="SECONDS", help="re-read the JWKS this often"
    )
    auth.add_argument("--auth-audience", help="tokens must name this audience in 'aud'")
    auth.add_argument(
        "--auth-permissions-claim", help="the claim listing 'namespace:role' permissions"
    )
    auth.add_argument(
        "--auth-worker-token-file",
        type=Path,
        metavar="PATH",
        help="a token with system admin rights for Strom's internal worker (schedules), "
        "which calls the frontend like any client",
    )


def sasl_users(args: argparse.Namespace) -> dict[str, str]:
    """The dev broker's SASL/PLAIN users of ``--kafka-sasl-user``.

    Raises:
        DevServerError: An item is not NAME:PASSWORD.
    """
    users: dict[str, str] = {}
    for item in getattr(args, "kafka_sasl_user", None) or []:
        name, sep, password = item.partition(":")
        if not sep or not name or not password:
            raise DevServerError(f"--kafka-sasl-user wants NAME:PASSWORD, got {item!r}")
        users[name] = password
    return users


def kafka_client_settings(args: argparse.Namespace, broker: Mapping[str, str]) -> dict[str, str]:
    """The services' Kafka client settings: the broker's defaults, then the file, then flags.

    Args:
        args: start-dev's arguments.
        broker: What a client of the dev broker needs by default (`KafkaNode.client_settings`).

    Raises:
        DevServerError: A setting cannot be read, or librdkafka rejects one.
    """
    env_file = os.environ.get(kafka_connection.ENV_CONFIG_FILE)
    file = args.kafka_config_file or (Path(env_file) if env_file else None)
    try:
        given = kafka_connection.load([file] if file is not None else [], args.kafka_config)
        settings = {**broker, **given}
        kafka_connection.validate(settings)
    except kafka_connection.KafkaConfigError as exc:
        raise DevServerError(str(exc)) from exc
    return settings


def write_client_properties(settings: Mapping[str, str], data_dir: Path) -> Path:
    """Writes the settings as a properties file only its owner may read; returns its path."""
    path = data_dir / CLIENT_PROPERTIES
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file may have had other bits
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("# Written by strom server start-dev at every start.\n")
        out.writelines(f"{key}={value}\n" for key, value in settings.items())
    return path


def check_kafka_access(
    bootstrap: str, settings: Mapping[str, str], timeout: float = _ACCESS_TIMEOUT_S
) -> None:
    """Fails fast, with librdkafka's reason, when Kafka refuses these client settings.

    A wrong password otherwise shows only as every service timing out.

    Raises:
        DevServerError: Authentication failed, or no metadata within `timeout` seconds.
    """
    from confluent_kafka import KafkaError, KafkaException

    from streams.connection import AdminClient  # the settings are also passed explicitly

    refused: list[str] = []

    def on_error(error: Any) -> None:
        if error.code() in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED):
            refused.append(error.str())

    config: dict[str, Any] = {**settings, "bootstrap.servers": bootstrap, "log_level": 0}
    config["error_cb"] = on_error
    admin = AdminClient(config)
    deadline = time.monotonic() + timeout
    last = ""
    while not refused and time.monotonic() < deadline:
        try:
            admin.list_topics(timeout=1)
            return
        except KafkaException as exc:
            last = str(exc)
        admin.poll(0)
    if refused:
        raise DevServerError(
            f"Kafka at {bootstrap} refused Strom's credentials: {refused[0]}. Check the SASL "
            "settings (--kafka-config sasl.username=... sasl.password=..., --kafka-config-file)"
        )
    raise DevServerError(f"Strom cannot reach Kafka at {bootstrap} within {timeout:.0f}s: {last}")


def service_args(args: argparse.Namespace, client_properties: Path | None) -> dict[str, list[str]]:
    """The extra command-line arguments of each service (`ServiceSet.start`'s service_args)."""
    extra: dict[str, list[str]] = {name: [] for name in (*KAFKA_SERVICES, "worker")}
    if client_properties is not None:
        # The worker reads the dead-letter topic for its system workflow.
        for name in (*KAFKA_SERVICES, "worker"):
            extra[name] += ["--kafka-config-file", str(client_properties)]
    for jwks in args.auth_jwks or []:
        extra["frontend"] += ["--auth-jwks", jwks]
    for flag, value in (
        ("--auth-jwks-refresh", args.auth_jwks_refresh),
        ("--auth-audience", args.auth_audience),
        ("--auth-permissions-claim", args.auth_permissions_claim),
    ):
        if value is not None:
            extra["frontend"] += [flag, str(value)]
    if args.auth_worker_token_file is not None:
        extra["worker"] += ["--auth-token-file", str(args.auth_worker_token_file.absolute())]
    return extra
