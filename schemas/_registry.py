"""Loads every shipped schema version from the .avsc files and indexes them by fingerprint."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas.exceptions import SchemaRegistryError, UnknownRecordError

AVRO_DIR = Path(__file__).resolve().parent / "avro"
"""Where the shipped .avsc files live."""

MAGIC = b"\xc3\x01"
"""The two marker bytes that start every Avro single-object encoding."""

HEADER_SIZE = len(MAGIC) + 8
"""Marker plus the 8-byte little-endian CRC-64-AVRO fingerprint."""

_FILE_NAME = re.compile(r"^(?P<name>[A-Za-z_][\w.]*?)(?:\.(?P<version>\d+))?\.avsc$")
_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One version of one record's schema, as shipped in one .avsc file.

    Attributes:
        record_name: Full name of the record, e.g. ``strom.v1.TaskRecord``.
        version: 1 for the first version ever shipped; the current version is the highest.
        is_current: Whether this is the version new records are written with.
        fingerprint: CRC-64-AVRO fingerprint of the Parsing Canonical Form.
        header: The 10 bytes that start every record written with this version.
        parsed: The fastavro-parsed schema.
        path: The .avsc file it was loaded from.
        reader: The parsed current schema to resolve into, or None when this is current.
        defaults: Top-level field defaults as Python values, filled in on encode.
        filled_on_read: Current fields this version lacks, with their Python defaults.
    """

    record_name: str
    version: int
    is_current: bool
    fingerprint: int
    header: bytes
    parsed: dict[str, Any]
    path: Path
    reader: dict[str, Any] | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    filled_on_read: tuple[tuple[str, Any], ...] = ()

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of the record's top-level fields, in schema order."""
        return tuple(f["name"] for f in self.parsed["fields"])


@dataclass(frozen=True, slots=True)
class _SchemaFile:
    record_name: str
    version: int | None  # None for the current file
    raw: dict[str, Any]
    path: Path


class Registry:
    """Every schema version ever shipped, by record name and by single-object header.

    Must not be mutated after construction: codecs share it across threads.
    """

    def __init__(self, versions: Iterable[SchemaVersion]) -> None:
        """Indexes the given versions.

        Args:
            versions: All versions of all records; exactly one current version per record.

        Raises:
            SchemaRegistryError: Two versions share a fingerprint or a record has no
                single current version.
        """
        self.by_header: dict[bytes, SchemaVersion] = {}
        self.current: dict[str, SchemaVersion] = {}
        self._all: dict[str, list[SchemaVersion]] = {}
        for v in versions:
            if v.header in self.by_header:
                other = self.by_header[v.header].path.name
                raise SchemaRegistryError(f"{v.path.name} and {other} have the same fingerprint")
            self.by_header[v.header] = v
            self._all.setdefault(v.record_name, []).append(v)
            if v.is_current:
                if v.record_name in self.current:
                    raise SchemaRegistryError(f"two current versions of {v.record_name}")
                self.current[v.record_name] = v
        for name, found in self._all.items():
            found.sort(key=lambda v: v.version)
            if len({v.version for v in found}) != len(found):
                raise SchemaRegistryError(f"{name} has two files with the same version number")
            if name not in self.current:
                raise SchemaRegistryError(f"{name} has history versions but no current schema")

    @classmethod
    def load(cls, directory: Path = AVRO_DIR) -> Registry:
        """Parses every .avsc file of a directory.

        Args:
            directory: Holds ``<record name>.avsc`` (current) and
                ``<record name>.<n>.avsc`` (frozen older version n) files.

        Returns:
            The registry of all versions found.

        Raises:
            SchemaRegistryError: A file is unparsable, misnamed, or an older version
                cannot be resolved into the current one.
        """
        files = [_read_file(path) for path in sorted(directory.glob("*.avsc"))]
        current = {f.record_name: f for f in files if f.version is None}
        versions = []
        for f in files:
            cur = current.get(f.record_name)
            if cur is None:
                raise SchemaRegistryError(f"{f.path.name} has no current {f.record_name}.avsc")
            history = [h.version for h in files if h.record_name == f.record_name and h.version]
            versions.append(_build_version(f, cur, max(history, default=0) + 1))
        return cls(versions)

    def versions_of(self, record_name: str) -> list[SchemaVersion]:
        """All shipped versions of a record, oldest first.

        Raises:
            UnknownRecordError: The record has no schema.
        """
        if record_name not in self._all:
            raise UnknownRecordError(f"no schema for record {record_name!r}")
        return list(self._all[record_name])

    def current_of(self, record_name: str) -> SchemaVersion:
        """The version new records of that name are written with.

        Raises:
            UnknownRecordError: The record has no schema.
        """
        try:
            return self.current[record_name]
        except KeyError:
            raise UnknownRecordError(f"no schema for record {record_name!r}") from None


def _read_file(path: Path) -> _SchemaFile:
    match = _FILE_NAME.match(path.name)
    if match is None:
        raise SchemaRegistryError(f"{path.name}: expected <record name>[.<version>].avsc")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SchemaRegistryError(f"{path.name}: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("type") != "record":
        raise SchemaRegistryError(f"{path.name}: the top-level type must be a record")
    full = raw["name"] if "." in raw["name"] else f"{raw.get('namespace', '')}.{raw['name']}"
    if full != match["name"]:
        raise SchemaRegistryError(f"{path.name}: holds record {full}, not {match['name']}")
    version = int(match["version"]) if match["version"] else None
    if version == 0:
        raise SchemaRegistryError(f"{path.name}: versions start at 1")
    return _SchemaFile(full, version, raw, path)


def _build_version(f: _SchemaFile, cur: _SchemaFile, current_number: int) -> SchemaVersion:
    try:
        parsed = _parse(f.raw)
        # Parsed separately: fastavro keeps writer and reader named types apart.
        reader = None if f.version is None else _parse(cur.raw)
        canonical = to_parsing_canonical_form(f.raw)
    except Exception as exc:  # fastavro raises several types for bad schemas
        raise SchemaRegistryError(f"{f.path.name}: {exc}") from exc
    # fastavro gives the fingerprint's little-endian bytes, exactly what the header holds.
    fp_bytes = bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))
    named = parsed.get("__named_schemas", {})
    return SchemaVersion(
        record_name=f.record_name,
        version=current_number if f.version is None else f.version,
        is_current=f.version is None,
        fingerprint=int.from_bytes(fp_bytes, "little"),
        header=MAGIC + fp_bytes,
        parsed=parsed,
        path=f.path,
        reader=reader,
        defaults=_field_defaults(parsed, named),
        filled_on_read=() if reader is None else _missing_fields(f, cur, reader),
    )


def _parse(raw: dict[str, Any]) -> dict[str, Any]:
    # _read_file admits only record schemas, and those parse to a dict.
    return cast(dict[str, Any], parse_schema(raw))


def _field_defaults(parsed: dict[str, Any], named: dict[str, Any]) -> dict[str, Any]:
    return {
        f["name"]: python_default(f["type"], f["default"], named)
        for f in parsed["fields"]
        if "default" in f
    }


def _missing_fields(
    old: _SchemaFile, cur: _SchemaFile, reader: dict[str, Any]
) -> tuple[tuple[str, Any], ...]:
    """Current fields the old version lacks; they must have defaults to be resolvable."""
    old_names = {f["name"] for f in old.raw["fields"]}
    missing = []
    cur_named = reader.get("__named_schemas", {})
    for f in reader["fields"]:
        if f["name"] in old_names or old_names.intersection(f.get("aliases", ())):
            continue
        if "default" not in f:
            raise SchemaRegistryError(
                f"{cur.path.name}: field {f['name']} is missing from {old.path.name} "
                "and has no default, so old records cannot be read"
            )
        missing.append((f["name"], python_default(f["type"], f["default"], cur_named)))
    return tuple(missing)


def python_default(avro_type: Any, default: Any, named: Mapping[str, Any]) -> Any:
    """Converts a default from its Avro JSON form to the value fastavro reads and writes.

    Why: fastavro neither converts defaults on write nor on schema resolution, so a
    ``bytes`` field defaulting to ``""`` would fail to encode, and decode as ``str``.

    Args:
        avro_type: The field's type as in a parsed schema.
        default: The default as written in the .avsc file.
        named: Named types of the schema, by full name.

    Returns:
        The default as a Python value (bytes for bytes and fixed, nested values converted).
    """
    if isinstance(avro_type, list):  # a union's default belongs to its first branch
        return python_default(avro_type[0], default, named)
    if isinstance(avro_type, str):
        if avro_type == "bytes":
            return default.encode("latin-1")
        if avro_type in _PRIMITIVES or avro_type not in named:
            return default
        return python_default(named[avro_type], default, named)
    kind = avro_type["type"]
    if kind in ("bytes", "fixed"):
        return default.encode("latin-1")
    if kind == "array":
        return [python_default(avro_type["items"], d, named) for d in default]
    if kind == "map":
        return {k: python_default(avro_type["values"], d, named) for k, d in default.items()}
    if kind in ("record", "error"):
        return {
            f["name"]: python_default(f["type"], default.get(f["name"], f.get("default")), named)
            for f in avro_type["fields"]
        }
    if kind == "enum":
        return default
    return python_default(kind, default, named)  # e.g. {"type": "long", "logicalType": ...}
