"""Visibility: the visibility topic indexed into Elasticsearch, and list/count queries over it."""

from schemas.visibility.exceptions import (
    InvalidQueryError,
    VisibilityError,
    VisibilityOverloadedError,
    VisibilityUnavailableError,
)
from schemas.visibility.query import SearchQuery, translate
from schemas.visibility.search import VisibilityReader
from schemas.visibility.template import ensure_template, index_name
from visibility_indexer.documents import IndexAction, build_action, doc_id
from visibility_indexer.indexer import IndexerConfig, VisibilityIndexer

__all__ = [
    "IndexAction",
    "IndexerConfig",
    "InvalidQueryError",
    "SearchQuery",
    "VisibilityError",
    "VisibilityIndexer",
    "VisibilityOverloadedError",
    "VisibilityReader",
    "VisibilityUnavailableError",
    "build_action",
    "doc_id",
    "ensure_template",
    "index_name",
    "translate",
]
