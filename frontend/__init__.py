"""Strom's frontend: Temporal's WorkflowService gRPC API over Strom's backends.

Public surface:

- ``serve``, ``stop``, ``create_server`` (``frontend.server``): run the gRPC server.
- ``FrontendConfig`` (``frontend.config``): settings.
- ``HistoryCaller``, ``MatchingBackend``, ``VisibilityBackend``, ``NamespaceRegistry``,
  ``InvalidQueryError`` (``frontend.backends``): what the processes implement; the history's
  ``Reply`` and the namespaces are part of the contract (``schemas.reply``,
  ``schemas.namespaces``).
"""

from frontend.backends import (
    HistoryCaller,
    InvalidQueryError,
    MatchingBackend,
    NamespaceRegistry,
    VisibilityBackend,
)
from frontend.config import FrontendConfig
from frontend.server import create_server, serve, stop

__all__ = [
    "FrontendConfig",
    "HistoryCaller",
    "InvalidQueryError",
    "MatchingBackend",
    "NamespaceRegistry",
    "VisibilityBackend",
    "create_server",
    "serve",
    "stop",
]
