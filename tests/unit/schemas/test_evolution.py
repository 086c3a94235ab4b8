"""Schema evolution: old writer versions decode with the current reader; the registry guards it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import schemas
from schemas import samples
from schemas._codec import Codec
from schemas._registry import AVRO_DIR, Registry
from tests.golden import schema_golden as golden

HISTORY = [v for v in schemas.REGISTRY.by_header.values() if not v.is_current]


def _record(name: str, fields: list[dict[str, Any]], doc: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "record", "name": name, "namespace": "t.v1", "fields": fields}
    if doc:
        schema["doc"] = doc
    return schema


def _write(directory: Path, file_name: str, schema: dict[str, Any]) -> None:
    (directory / file_name).write_text(json.dumps(schema))


def test_visibility_record_v1_is_shipped_and_older_than_current() -> None:
    versions = schemas.REGISTRY.versions_of(schemas.VISIBILITY_RECORD)

    assert [(v.version, v.is_current) for v in versions] == [(1, False), (2, True)]
    assert "execution_duration_ms" not in versions[0].field_names
    assert "execution_duration_ms" in versions[1].field_names
    assert versions[0].fingerprint != versions[1].fingerprint


def test_visibility_v1_bytes_decode_with_new_field_defaulted() -> None:
    old = schemas.REGISTRY.versions_of(schemas.VISIBILITY_RECORD)[0]
    value = samples.sample_for(old)
    data = Codec.encode_version(old, value)

    decoded = schemas.decode(data, schemas.VISIBILITY_RECORD)

    assert schemas.fingerprint_of(data) == old.fingerprint
    assert decoded == {**value, "execution_duration_ms": None}


def test_visibility_v1_golden_bytes_decode_with_current_reader() -> None:
    data = (golden.GOLDEN_DIR / "strom.v1.VisibilityRecord.1.bin").read_bytes()

    decoded = schemas.decode(data)

    assert decoded["execution_duration_ms"] is None
    assert decoded["close_time_ms"] == samples.SAMPLES[schemas.VISIBILITY_RECORD]["close_time_ms"]


@pytest.mark.parametrize("old", HISTORY, ids=[v.path.stem for v in HISTORY])
def test_every_history_version_decodes_into_the_current_shape(old: Any) -> None:
    current = schemas.REGISTRY.current_of(old.record_name)

    decoded = schemas.decode(Codec.encode_version(old, samples.sample_for(old)), old.record_name)

    assert set(decoded) == set(current.field_names)
    assert old.filled_on_read  # a frozen version identical in fields to current is pointless


def test_added_bytes_and_map_defaults_decode_as_fresh_python_values(tmp_path: Path) -> None:
    base: list[dict[str, Any]] = [{"name": "id", "type": "string"}]
    added: list[dict[str, Any]] = [
        {"name": "blob", "type": "bytes", "default": "\u00ff\u0000"},
        {"name": "tags", "type": {"type": "map", "values": "string"}, "default": {"a": "b"}},
        {"name": "items", "type": {"type": "array", "items": "long"}, "default": [1]},
    ]
    _write(tmp_path, "t.v1.Thing.1.avsc", _record("Thing", base))
    _write(tmp_path, "t.v1.Thing.avsc", _record("Thing", base + added))
    registry = Registry.load(tmp_path)
    codec = Codec(registry)
    data = Codec.encode_version(registry.versions_of("t.v1.Thing")[0], {"id": "x"})

    first, second = codec.decode(data), codec.decode(data)
    first["tags"]["mutated"] = "yes"
    first["items"].append(2)

    assert second == {"id": "x", "blob": b"\xff\x00", "tags": {"a": "b"}, "items": [1]}
    assert codec.decode(codec.encode("t.v1.Thing", {"id": "y"})) == {**second, "id": "y"}


def test_registry_refuses_an_added_field_without_default(tmp_path: Path) -> None:
    base = [{"name": "id", "type": "string"}]
    _write(tmp_path, "t.v1.Thing.1.avsc", _record("Thing", base))
    _write(tmp_path, "t.v1.Thing.avsc", _record("Thing", [*base, {"name": "n", "type": "long"}]))

    with pytest.raises(schemas.SchemaRegistryError, match="no default"):
        Registry.load(tmp_path)


def test_doc_only_change_keeps_the_fingerprint_so_the_copy_collides(tmp_path: Path) -> None:
    fields = [{"name": "id", "type": "string"}]
    _write(tmp_path, "t.v1.Thing.1.avsc", _record("Thing", fields, doc="old words"))
    _write(tmp_path, "t.v1.Thing.avsc", _record("Thing", fields, doc="new words"))

    with pytest.raises(schemas.SchemaRegistryError, match="same fingerprint"):
        Registry.load(tmp_path)


@pytest.mark.parametrize(
    ("file_name", "schema", "message"),
    [
        ("t.v1.Other.avsc", _record("Thing", []), "holds record t.v1.Thing"),
        ("t.v1.Thing.1.avsc", _record("Thing", []), "no current"),
        ("t.v1.Thing.0.avsc", _record("Thing", []), "start at 1"),
        ("t.v1.Thing.avsc", {"type": "enum", "name": "Thing", "symbols": ["A"]}, "record"),
        ("t.v1.Thing.avsc", _record("Thing", [{"name": "x", "type": "nope"}]), "nope"),
        ("bad name!.avsc", _record("Thing", []), "expected"),
    ],
)
def test_registry_refuses_inconsistent_files(
    tmp_path: Path, file_name: str, schema: dict[str, Any], message: str
) -> None:
    _write(tmp_path, file_name, schema)

    with pytest.raises(schemas.SchemaRegistryError, match=message):
        Registry.load(tmp_path)


def test_registry_refuses_unparsable_json(tmp_path: Path) -> None:
    (tmp_path / "t.v1.Thing.avsc").write_text("{not json")

    with pytest.raises(schemas.SchemaRegistryError, match=r"t\.v1\.Thing\.avsc"):
        Registry.load(tmp_path)


def test_shipped_files_load_from_a_copy(tmp_path: Path) -> None:
    for path in AVRO_DIR.glob("*.avsc"):
        shutil.copy(path, tmp_path)

    copy = Registry.load(tmp_path)

    assert set(copy.by_header) == set(schemas.REGISTRY.by_header)
