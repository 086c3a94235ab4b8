"""The Elasticsearch index template of Strom's visibility index, and its idempotent install."""

from __future__ import annotations

import logging
from typing import Any

from elasticsearch import ApiError, Elasticsearch

from schemas.visibility import attributes as sa
from schemas.visibility.attributes import ValueType

log = logging.getLogger(__name__)

TEMPLATE_VERSION = 2
"""Bump when the template changes; ``ensure_template`` then replaces the installed one and
adds the new mappings to an existing index (version 2: custom search attributes)."""

_ES_TYPES = {
    ValueType.KEYWORD: {"type": "keyword"},
    ValueType.KEYWORD_LIST: {"type": "keyword"},
    ValueType.TEXT: {"type": "text"},
    ValueType.INT: {"type": "long"},
    # Temporal maps doubles to scaled_float, which this Elasticsearch build lacks.
    ValueType.DOUBLE: {"type": "double"},
    ValueType.BOOL: {"type": "boolean"},
    ValueType.DATETIME: {"type": "date_nanos"},
}


def index_name(prefix: str) -> str:
    """The visibility index of a cluster, e.g. ``strom-visibility``."""
    return f"{prefix}-visibility"


def template_name(prefix: str) -> str:
    """The name the index template is installed under."""
    return f"{prefix}-visibility"


def mappings() -> dict[str, Any]:
    """Field mappings: Temporal's attribute names as fields, so Kibana users see Temporal's terms.

    ``dynamic: strict`` rejects documents with unknown fields instead of guessing their types.
    """
    properties: dict[str, Any] = {
        sa.NAMESPACE: {"type": "keyword"},
        sa.NAMESPACE_ID: {"type": "keyword"},
        # Serialized temporal.api.common.v1 Memo and SearchAttributes, returned by list as-is.
        sa.MEMO: {"type": "binary"},
        sa.SEARCH_ATTRIBUTES: {"type": "binary"},
    }
    for name, value_type in {**sa.SYSTEM, **sa.PREDEFINED}.items():
        properties[name] = dict(_ES_TYPES[value_type])
    # Custom attributes, `Custom.<Type>.<name>` (attributes.custom_field): the one place
    # where new fields may appear, each typed by the sub-object it lands in.
    properties[sa.CUSTOM] = {
        "type": "object",
        "dynamic": True,
        "properties": {t.value: {"type": "object", "dynamic": True} for t in ValueType},
    }
    dynamic_templates = [
        {
            f"custom_{value_type.name.lower()}": {
                "path_match": f"{sa.CUSTOM}.{value_type.value}.*",
                "mapping": dict(_ES_TYPES[value_type]),
            }
        }
        for value_type in ValueType
    ]
    return {"dynamic": "strict", "dynamic_templates": dynamic_templates, "properties": properties}


def settings() -> dict[str, Any]:
    """Index settings: one shard, a 1 s refresh and Temporal's index sort order."""
    return {
        "number_of_shards": 1,
        "number_of_replicas": 0,
        "auto_expand_replicas": "0-1",
        # Set explicitly so idle shards keep refreshing: writes are visible within ~1 s.
        "refresh_interval": "1s",
        # Temporal's order; the default list order then reads the index in storage order.
        "sort.field": [sa.CLOSE_TIME, sa.START_TIME, sa.RUN_ID],
        "sort.order": ["desc", "desc", "desc"],
        "sort.missing": ["_first", "_first", "_first"],
    }


def template_body(prefix: str) -> dict[str, Any]:
    """The composable index template for ``<prefix>-visibility*``."""
    return {
        "index_patterns": [f"{index_name(prefix)}*"],
        "priority": 200,
        "version": TEMPLATE_VERSION,
        "template": {"settings": settings(), "mappings": mappings()},
        "_meta": {"owner": "strom visibility_indexer"},
    }


def ensure_template(es: Elasticsearch, prefix: str = "strom") -> str:
    """Installs the index template and creates the index if missing; safe to call any time.

    The template is rewritten only when the installed one has another version. An existing index
    is left alone (its mapping is fixed at creation; a new template version needs a new index).

    Args:
        es: The client.
        prefix: The cluster name.

    Returns:
        The index name.

    Raises:
        elasticsearch.ApiError, elasticsearch.TransportError: Elasticsearch failed.
    """
    name, index = template_name(prefix), index_name(prefix)
    installed = _installed_version(es, name)
    if installed != TEMPLATE_VERSION:
        body = template_body(prefix)
        es.indices.put_index_template(
            name=name,
            index_patterns=body["index_patterns"],
            priority=body["priority"],
            version=body["version"],
            template=body["template"],
            meta=body["_meta"],
        )
        log.info("installed index template %s version %d", name, TEMPLATE_VERSION)
    if not es.indices.exists(index=index):
        try:
            es.indices.create(index=index)
            log.info("created index %s", index)
        except ApiError as err:
            # Another indexer or reader created it between our check and our create.
            if err.error != "resource_already_exists_exception":
                raise
    elif installed != TEMPLATE_VERSION:
        # An index made by an older template: new fields may be added to its mapping (the
        # ones it has keep their types; versions only ever add).
        body = mappings()
        es.indices.put_mapping(
            index=index,
            dynamic_templates=body["dynamic_templates"],
            properties=body["properties"],
        )
        log.info("added template version %d mappings to index %s", TEMPLATE_VERSION, index)
    # A new index answers searches with 503 until its primary shard starts.
    es.cluster.health(index=index, wait_for_status="yellow", timeout="30s")
    return index


def _installed_version(es: Elasticsearch, name: str) -> int | None:
    if not es.indices.exists_index_template(name=name):
        return None
    found = es.indices.get_index_template(name=name)["index_templates"]
    version = found[0]["index_template"].get("version") if found else None
    return int(version) if version is not None else None
