"""Temporal's HTTP API: grpc-gateway's JSON mapping of WorkflowService, over Strom's servicer.

Public surface:

- ``start_http_api`` / ``HttpApiServer`` (``frontend.http.server``): serve it, stop it.
- ``HttpApi`` (``frontend.http.server``): the aiohttp application, for embedding and tests.
- ``DEFAULT_HTTP_PORT``: Temporal's default HTTP port of the frontend (``httpPort``).
"""

from frontend.http.server import HttpApi, HttpApiServer, start_http_api

DEFAULT_HTTP_PORT = 7243

__all__ = ["DEFAULT_HTTP_PORT", "HttpApi", "HttpApiServer", "start_http_api"]
