"""How every Strom service reaches Kafka and Elasticsearch securely: one command-line surface.

Each service's ``__main__`` calls ``add_arguments(parser)`` and ``from_args(args)``: the Kafka
settings (``--kafka-config KEY=VALUE``, ``--kafka-config-file``, or ``$STROM_KAFKA_CONFIG``)
then reach every Kafka client the process creates (``streams.connection``), and the returned
``ElasticsearchSettings`` build its Elasticsearch client (CA, client certificate, basic auth or
API key; secrets from the environment rather than the command line).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from streams import connection as kafka_connection

ENV_ES_USERNAME = "STROM_ES_USERNAME"
ENV_ES_PASSWORD = "STROM_ES_PASSWORD"
ENV_ES_API_KEY = "STROM_ES_API_KEY"
ENV_ES_CA_CERTS = "STROM_ES_CA_CERTS"


@dataclass(frozen=True)
class ElasticsearchSettings:
    """TLS and credentials of the Elasticsearch client.

    Attributes:
        ca_certs: PEM file of the CA that signed the node's certificate (https URLs).
        client_cert: PEM certificate the client presents (Elasticsearch's PKI realm).
        client_key: Its private key.
        username: Basic-auth user.
        password: Basic-auth password.
        api_key: An API key (the encoded ``id:key`` Elasticsearch returns), instead of a user.
    """

    ca_certs: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    username: str | None = None
    password: str | None = None
    api_key: str | None = None

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments of ``elasticsearch.Elasticsearch`` for these settings."""
        options: dict[str, Any] = {}
        if self.ca_certs is not None:
            options["ca_certs"] = str(self.ca_certs)
        if self.client_cert is not None:
            options["client_cert"] = str(self.client_cert)
        if self.client_key is not None:
            options["client_key"] = str(self.client_key)
        if self.username is not None:
            options["basic_auth"] = (self.username, self.password or "")
        if self.api_key is not None:
            options["api_key"] = self.api_key
        return options

    def client(self, url: str, **options: Any) -> Elasticsearch:
        """An Elasticsearch client of ``url`` with these settings and ``options``."""
        return Elasticsearch(url, **self.client_options(), **options)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the Kafka and Elasticsearch connection flags to a service's command line."""
    kafka = parser.add_argument_group(
        "Kafka client settings",
        "librdkafka properties (security.protocol, ssl.ca.location, sasl.mechanism, "
        "sasl.username, sasl.password, ...) for every Kafka client; "
        f"${kafka_connection.ENV_CONFIG_FILE} names a properties file when no flag is given",
    )
    kafka.add_argument(
        "--kafka-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one librdkafka property (repeatable; wins over the file)",
    )
    kafka.add_argument(
        "--kafka-config-file",
        type=Path,
        metavar="PATH",
        help="a properties file of librdkafka settings (KEY=VALUE lines)",
    )
    if not any(action.dest == "es_url" for action in parser._actions):
        return
    es = parser.add_argument_group(
        "Elasticsearch TLS and credentials",
        f"secrets from ${ENV_ES_PASSWORD} / ${ENV_ES_API_KEY} keep them out of the process list",
    )
    es.add_argument("--es-ca-certs", type=Path, metavar="PEM", help="CA of the node's certificate")
    es.add_argument("--es-client-cert", type=Path, metavar="PEM", help="client certificate")
    es.add_argument("--es-client-key", type=Path, metavar="PEM", help="its private key")
    es.add_argument("--es-username", help=f"basic-auth user (default: ${ENV_ES_USERNAME})")


def from_args(args: argparse.Namespace) -> ElasticsearchSettings:
    """Applies the Kafka settings of the command line to this process; returns the ES ones.

    Raises:
        SystemExit: A setting cannot be read, librdkafka rejects one, or a file is missing.
    """
    # The flag's file replaces the environment's; KEY=VALUE flags go on top of either.
    env_file = os.environ.get(kafka_connection.ENV_CONFIG_FILE)
    file = args.kafka_config_file or (Path(env_file) if env_file else None)
    files = [file] if file is not None else []
    try:
        settings = kafka_connection.load(files, args.kafka_config)
        kafka_connection.validate(settings)
    except kafka_connection.KafkaConfigError as exc:
        raise SystemExit(f"{exc}") from exc
    kafka_connection.configure(settings)
    return es_settings(args)


def es_settings(args: argparse.Namespace) -> ElasticsearchSettings:
    """The Elasticsearch settings of the command line and the environment.

    Raises:
        SystemExit: A named file does not exist, or a key comes without its certificate.
    """
    ca = getattr(args, "es_ca_certs", None) or _env_path(ENV_ES_CA_CERTS)
    cert = getattr(args, "es_client_cert", None)
    key = getattr(args, "es_client_key", None)
    for path in (ca, cert, key):
        if path is not None and not path.is_file():
            raise SystemExit(f"Elasticsearch TLS file not found: {path}")
    if (cert is None) != (key is None):
        raise SystemExit("--es-client-cert and --es-client-key go together")
    username = getattr(args, "es_username", None) or os.environ.get(ENV_ES_USERNAME) or None
    password = os.environ.get(ENV_ES_PASSWORD)
    api_key = os.environ.get(ENV_ES_API_KEY) or None
    if username is not None and api_key is not None:
        raise SystemExit(f"Elasticsearch: a user or ${ENV_ES_API_KEY}, not both")
    return ElasticsearchSettings(ca, cert, key, username, password, api_key)


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None
