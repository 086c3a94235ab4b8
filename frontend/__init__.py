"""Strom's frontend: Temporal's WorkflowService gRPC API over Strom's backends.

Public surface:

- ``serve``, ``stop``, ``create_server`` (``frontend.server``): run the gRPC server.
- ``FrontendConfig`` (``frontend.config``): settings.
- ``HistoryBackend``, ``MatchingBackend``, ``VisibilityBackend``, ``NamespaceRegistry``,
  ``Reply``, ``InvalidQueryError`` (``frontend.backends``): what the processes implement.
- ``KafkaNamespaceRegistry``, ``InMemoryNamespaceRegistry``, ``Namespace``
  (``frontend.namespaces``): namespaces.
"""

from frontend.backends import (
    HistoryBackend,
    InvalidQueryError,
    MatchingBackend,
    NamespaceRegistry,
    Reply,
    VisibilityBackend,
)
from frontend.config import FrontendConfig
from frontend.namespaces import InMemoryNamespaceRegistry, KafkaNamespaceRegistry, Namespace
from frontend.server import create_server, serve, stop

__all__ = [
    "FrontendConfig",
    "HistoryBackend",
    "InMemoryNamespaceRegistry",
    "InvalidQueryError",
    "KafkaNamespaceRegistry",
    "MatchingBackend",
    "Namespace",
    "NamespaceRegistry",
    "Reply",
    "VisibilityBackend",
    "create_server",
    "serve",
    "stop",
]
