"""A namespace's custom search attributes on the namespaces topic (Namespace record version 2)."""

from __future__ import annotations

import logging

import pytest

import schemas
from schemas.namespaces import Namespace
from schemas.visibility.attributes import ValueType
from tests.golden.schema_golden import GOLDEN_DIR


def test_custom_attributes_round_trip_through_the_record() -> None:
    namespace = Namespace(
        name="orders", id="n-1", search_attributes={"CustomerId": "Keyword", "Due": "Datetime"}
    )
    data = schemas.encode(schemas.NAMESPACE, namespace.to_record())
    back = Namespace.from_record(schemas.decode(data, schemas.NAMESPACE))
    assert back == namespace
    assert back.custom_search_attributes() == {
        "CustomerId": ValueType.KEYWORD,
        "Due": ValueType.DATETIME,
    }


def test_a_record_written_before_custom_attributes_reads_as_having_none() -> None:
    old = (GOLDEN_DIR / "strom.v1.Namespace.1.bin").read_bytes()
    namespace = Namespace.from_record(schemas.decode(old, schemas.NAMESPACE))
    assert namespace.name == "default"
    assert namespace.search_attributes == {}


def test_an_unknown_type_name_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    namespace = Namespace(name="n", id="i", search_attributes={"A": "Int", "B": "Decimal"})
    with caplog.at_level(logging.WARNING):
        assert namespace.custom_search_attributes() == {"A": ValueType.INT}
    assert "Decimal" in caplog.text
