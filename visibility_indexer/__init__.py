"""Visibility: the visibility topic indexed into Elasticsearch, and list/count queries over it."""

from visibility_indexer.documents import IndexAction, build_action, doc_id
from visibility_indexer.exceptions import (
    InvalidQueryError,
    VisibilityError,
    VisibilityOverloadedError,
    VisibilityUnavailableError,
)
from visibility_indexer.indexer import IndexerConfig, VisibilityIndexer
from visibility_indexer.query import SearchQuery, translate
from visibility_indexer.search import VisibilityReader
from visibility_indexer.template import ensure_template, index_name

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
