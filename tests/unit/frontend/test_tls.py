"""The frontend over TLS and mutual TLS, with certificates made here by openssl."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.service import TLSConfig

from frontend.__main__ import build_parser, tls_from_args
from frontend.config import TlsConfig
from tests.unit.frontend.conftest import TEST_CONFIG, StartFrontend

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _signed(cwd: Path, name: str, extensions: str) -> None:
    """A key and a certificate for `name`, signed by the CA in `cwd`."""
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-subj",
             f"/CN={name}", "-out", f"{name}.csr", cwd=cwd)  # fmt: skip
    (cwd / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-out", f"{name}.pem",
             "-extfile", f"{name}.ext", cwd=cwd)  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    cwd = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
             "-subj", "/CN=strom-test-ca", "-days", "2", "-out", "ca.pem", cwd=cwd)  # fmt: skip
    _signed(cwd, "server", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _signed(cwd, "client", "extendedKeyUsage=clientAuth\n")
    return cwd


def _client_tls(pki: Path, with_cert: bool) -> TLSConfig:
    return TLSConfig(
        server_root_ca_cert=(pki / "ca.pem").read_bytes(),
        domain="localhost",
        client_cert=(pki / "client.pem").read_bytes() if with_cert else None,
        client_private_key=(pki / "client.key").read_bytes() if with_cert else None,
    )


async def test_mutual_tls_admits_a_client_with_a_certificate_and_only_it(
    start_frontend: StartFrontend, pki: Path
) -> None:
    tls = TlsConfig.from_files(pki / "server.pem", pki / "server.key", pki / "ca.pem")
    frontend = await start_frontend(dataclasses.replace(TEST_CONFIG, tls=tls))
    client = await Client.connect(frontend.address, tls=_client_tls(pki, with_cert=True))
    info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
    assert info.server_version
    for refused in (_client_tls(pki, with_cert=False), False):
        with pytest.raises(RuntimeError):
            await Client.connect(frontend.address, tls=refused)


async def test_server_tls_without_client_certificates(
    start_frontend: StartFrontend, pki: Path
) -> None:
    tls = TlsConfig.from_files(pki / "server.pem", pki / "server.key")
    frontend = await start_frontend(dataclasses.replace(TEST_CONFIG, tls=tls))
    client = await Client.connect(frontend.address, tls=_client_tls(pki, with_cert=False))
    assert client.namespace == "default"
    with pytest.raises(RuntimeError):
        await Client.connect(frontend.address, tls=False)


def test_tls_flags_must_come_together(pki: Path) -> None:
    base = ["--bootstrap", "b:1", "--es-url", "http://e"]
    assert tls_from_args(build_parser().parse_args(base)) is None
    with pytest.raises(SystemExit, match="go together"):
        tls_from_args(build_parser().parse_args([*base, "--tls-cert", str(pki / "server.pem")]))
    with pytest.raises(SystemExit, match="needs --tls-cert"):
        tls_from_args(build_parser().parse_args([*base, "--tls-client-ca", str(pki / "ca.pem")]))
    with pytest.raises(SystemExit, match="holds no PEM data"):
        tls_from_args(
            build_parser().parse_args(
                [*base, "--tls-cert", str(pki / "server.ext"), "--tls-key", str(pki / "server.key")]
            )
        )
    full = [*base, "--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key")]
    tls = tls_from_args(build_parser().parse_args([*full, "--tls-client-ca", str(pki / "ca.pem")]))
    assert tls is not None and tls.client_ca is not None and tls.cert.startswith(b"-----BEGIN")
