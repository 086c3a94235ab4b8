"""Avro single-object encoding and decoding of Strom's Kafka records."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from schemas._registry import HEADER_SIZE, MAGIC, Registry, SchemaVersion
from schemas.exceptions import (
    RecordMismatchError,
    SchemaDecodeError,
    SchemaEncodeError,
    UnknownSchemaError,
)


class Codec:
    """Encodes and decodes records against one registry.

    Stateless apart from the registry, so one instance may be shared by threads.
    """

    def __init__(self, registry: Registry) -> None:
        """Binds the codec to a registry.

        Args:
            registry: Every schema version the codec writes or reads.
        """
        self.registry = registry
        self._current = registry.current
        self._by_header = registry.by_header

    def encode(self, record_name: str, value: Mapping[str, Any]) -> bytes:
        """Encodes a record with the current schema of its name.

        Args:
            record_name: Full record name, e.g. ``strom.v1.TaskRecord``.
            value: Field name to value; fields with defaults may be left out.

        Returns:
            Marker, fingerprint, then the Avro binary body.

        Raises:
            UnknownRecordError: No schema has that name.
            SchemaEncodeError: The value misses a field, has an unknown one, or a wrong type.
        """
        version = self._current.get(record_name)
        if version is None:
            version = self.registry.current_of(record_name)  # raises UnknownRecordError
        return self.encode_version(version, value)

    @staticmethod
    def encode_version(version: SchemaVersion, value: Mapping[str, Any]) -> bytes:
        """Encodes a record with one given schema version, current or not.

        Args:
            version: The writer schema.
            value: Field name to value; fields with defaults may be left out.

        Returns:
            Marker, fingerprint, then the Avro binary body.

        Raises:
            SchemaEncodeError: The value does not fit the schema.
        """
        buf = BytesIO()
        buf.write(version.header)
        try:
            if version.defaults:
                # fastavro would write the raw JSON default (e.g. "" for bytes) and fail.
                value = {**version.defaults, **value}
            # strict_allow_default rejects unknown keys, so a misspelt field is not dropped.
            schemaless_writer(buf, version.parsed, value, strict_allow_default=True)
        except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as exc:
            raise SchemaEncodeError(f"{version.record_name}: {exc}") from exc
        return buf.getvalue()

    def decode(
        self, data: bytes | bytearray | memoryview, record_name: str | None = None
    ) -> dict[str, Any]:
        """Decodes a record, resolving an older writer schema into the current one.

        Args:
            data: Bytes produced by ``encode`` with this or an older schema version
                (bytearray and memoryview are accepted too).
            record_name: When given, the bytes must hold this record.

        Returns:
            Field name to value, shaped by the current schema of the record.

        Raises:
            UnknownSchemaError: The writer fingerprint is in no shipped schema file.
            SchemaDecodeError: The bytes are truncated, garbage or have trailing bytes.
            RecordMismatchError: The bytes hold another record than ``record_name``.
        """
        if type(data) is not bytes:
            data = bytes(data)  # bytearray and memoryview slices are unhashable
        version = self._by_header.get(data[:HEADER_SIZE])
        if version is None:
            raise _header_error(data)
        if record_name is not None and version.record_name != record_name:
            raise RecordMismatchError(f"expected a {record_name}, got a {version.record_name}")
        buf = BytesIO(data)
        buf.seek(HEADER_SIZE)
        try:
            value: dict[str, Any] = schemaless_reader(buf, version.parsed, version.reader)  # type: ignore[assignment]
        except Exception as exc:  # fastavro raises EOFError, ValueError, UnicodeError, ...
            raise SchemaDecodeError(f"malformed {version.record_name}: {exc!r}") from exc
        if buf.tell() != len(data):
            raise SchemaDecodeError(
                f"malformed {version.record_name}: {len(data) - buf.tell()} trailing bytes"
            )
        for name, default in version.filled_on_read:
            # fastavro hands out the schema's own default object and leaves bytes as str.
            value[name] = copy.deepcopy(default)
        return value


def fingerprint_of(data: bytes | bytearray | memoryview) -> int:
    """The writer-schema fingerprint of single-object-encoded bytes.

    Args:
        data: Bytes produced by ``encode``.

    Returns:
        The CRC-64-AVRO fingerprint as an unsigned integer.

    Raises:
        SchemaDecodeError: The bytes do not start with a single-object header.
    """
    if len(data) < HEADER_SIZE or data[:2] != MAGIC:
        raise SchemaDecodeError(f"not an Avro single-object encoding: {bytes(data[:10])!r}")
    return int.from_bytes(data[2:HEADER_SIZE], "little")


def _header_error(data: bytes | bytearray | memoryview) -> Exception:
    fp = fingerprint_of(data)  # raises SchemaDecodeError for a bad header
    return UnknownSchemaError(
        f"unknown writer schema fingerprint {fp:016x} (CRC-64-AVRO); "
        "no shipped .avsc file under schemas/avro has it"
    )
