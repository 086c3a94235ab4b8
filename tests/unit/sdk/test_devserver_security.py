"""start-dev's security flags: the dev broker's SASL listener, the Kafka client settings and
the authorizer's flags as each service receives them."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from streams import connection as kafka_connection
from strom._devserver import security
from strom._devserver.errors import DevServerError
from strom._devserver.kafka import KafkaNode, render_server_properties
from strom.cli import build_parser


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if not line.startswith("#"))


def _start_dev(*flags: str) -> list[str]:
    return ["server", "start-dev", *flags]


def test_a_sasl_broker_listens_with_sasl_plaintext_and_accepts_every_user(tmp_path: Path) -> None:
    users = {"strom": "s3cret", "ops": "other"}
    props = _props(render_server_properties(29092, 29093, tmp_path, users))
    assert props["listeners"] == "SASL_PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["advertised.listeners"] == "SASL_PLAINTEXT://127.0.0.1:29092"
    assert props["listener.security.protocol.map"] == (
        "CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT"
    )
    assert props["inter.broker.listener.name"] == "SASL_PLAINTEXT"
    assert props["sasl.enabled.mechanisms"] == "PLAIN"
    jaas = props["listener.name.sasl_plaintext.plain.sasl.jaas.config"]
    assert jaas.startswith("org.apache.kafka.common.security.plain.PlainLoginModule required ")
    assert 'username="strom" password="s3cret"' in jaas
    assert 'user_strom="s3cret"' in jaas and 'user_ops="other"' in jaas
    assert jaas.endswith(";")
    # Without users nothing changes.
    plain = _props(render_server_properties(29092, 29093, tmp_path))
    assert plain["listeners"].startswith("PLAINTEXT://")
    assert "sasl.enabled.mechanisms" not in plain


@pytest.mark.parametrize("password", ['a"b', "a;b", "a b", "a\\b", ""])
def test_a_password_the_jaas_line_cannot_hold_is_refused(tmp_path: Path, password: str) -> None:
    with pytest.raises(DevServerError, match="password"):
        KafkaNode(tmp_path, sasl_users={"strom": password})


def test_the_first_user_is_the_clients_default_login(tmp_path: Path) -> None:
    node = KafkaNode(tmp_path, sasl_users={"strom": "s3cret", "ops": "x"})
    assert node.client_settings() == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "strom",
        "sasl.password": "s3cret",
    }
    assert KafkaNode(tmp_path).client_settings() == {}


def test_sasl_users_come_from_name_password_pairs() -> None:
    args = build_parser().parse_args(
        _start_dev("--kafka-sasl-user", "strom:pa:ss", "--kafka-sasl-user", "ops:x")
    )
    assert security.sasl_users(args) == {"strom": "pa:ss", "ops": "x"}
    bad = build_parser().parse_args(_start_dev("--kafka-sasl-user", "nopassword"))
    with pytest.raises(DevServerError, match="NAME:PASSWORD"):
        security.sasl_users(bad)


def test_flags_and_file_go_over_the_brokers_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(kafka_connection.ENV_CONFIG_FILE, raising=False)
    file = tmp_path / "client.properties"
    file.write_text("sasl.username=from-file\nclient.id=dev\n")
    args = build_parser().parse_args(
        _start_dev("--kafka-config-file", str(file), "--kafka-config", "sasl.password=from-flag")
    )
    broker = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN"}
    broker |= {"sasl.username": "strom", "sasl.password": "s3cret"}
    settings = security.kafka_client_settings(args, broker)
    assert settings == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "from-file",
        "sasl.password": "from-flag",
        "client.id": "dev",
    }


def test_an_unknown_kafka_setting_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(kafka_connection.ENV_CONFIG_FILE, raising=False)
    args = build_parser().parse_args(_start_dev("--kafka-config", "no.such.setting=1"))
    with pytest.raises(DevServerError, match=r"no\.such\.setting"):
        security.kafka_client_settings(args, {})


def test_the_settings_file_is_for_its_owner_only(tmp_path: Path) -> None:
    path = security.write_client_properties({"sasl.password": "s3cret"}, tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert kafka_connection.load([path]) == {"sasl.password": "s3cret"}


def test_every_kafka_service_gets_the_file_and_the_frontend_the_authorizer(
    tmp_path: Path,
) -> None:
    args = build_parser().parse_args(
        _start_dev(
            "--auth-jwks",
            "/keys/a.json",
            "--auth-jwks",
            "https://idp/jwks",
            "--auth-audience",
            "strom",
            "--auth-permissions-claim",
            "perms",
            "--auth-jwks-refresh",
            "5",
            "--auth-worker-token-file",
            str(tmp_path / "worker.jwt"),
        )
    )
    extra = security.service_args(args, tmp_path / "kafka-client.properties")
    file_flags = ["--kafka-config-file", str(tmp_path / "kafka-client.properties")]
    for name in ("history", "matching", "visibility"):
        assert extra[name] == file_flags
    assert extra["frontend"] == [
        *file_flags,
        "--auth-jwks",
        "/keys/a.json",
        "--auth-jwks",
        "https://idp/jwks",
        "--auth-jwks-refresh",
        "5.0",
        "--auth-audience",
        "strom",
        "--auth-permissions-claim",
        "perms",
    ]
    assert extra["worker"] == [*file_flags, "--auth-token-file", str(tmp_path / "worker.jwt")]
    # The frontend's and the worker's own parsers accept what they are given.
    from worker_service.__main__ import build_parser as worker_parser
    from worker_service.__main__ import read_token

    (tmp_path / "worker.jwt").write_text(" header.claims.signature\n")
    worker_args = worker_parser().parse_args(extra["worker"])
    assert read_token(worker_args.auth_token_file) == "header.claims.signature"
    assert worker_args.kafka_config_file == tmp_path / "kafka-client.properties"
    from frontend.__main__ import build_parser as frontend_parser

    parsed = frontend_parser().parse_args(
        ["--bootstrap", "k:1", "--es-url", "http://e", *extra["frontend"]]
    )
    assert parsed.auth_jwks == ["/keys/a.json", "https://idp/jwks"]
    assert parsed.kafka_config_file == tmp_path / "kafka-client.properties"
    # Nothing configured: no flags at all.
    plain = security.service_args(build_parser().parse_args(_start_dev()), None)
    assert all(flags == [] for flags in plain.values())
