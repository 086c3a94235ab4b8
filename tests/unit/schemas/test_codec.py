"""Round trips, wire format, golden bytes and error cases of the schemas package."""

from __future__ import annotations

import copy
import json
import struct
from typing import Any

import pytest
from fastavro.schema import to_parsing_canonical_form

import schemas
from schemas import samples
from schemas._registry import SchemaVersion
from tests.golden import schema_golden as golden

CURRENT = [schemas.REGISTRY.current_of(name) for name in schemas.RECORD_NAMES]
ALL_VERSIONS = sorted(schemas.REGISTRY.by_header.values(), key=lambda v: v.path.name)


def _rabin(data: bytes) -> int:
    """CRC-64-AVRO as written in the Avro specification, independent of fastavro."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def _ids(versions: list[SchemaVersion]) -> list[str]:
    return [v.path.stem for v in versions]


def _decoded_golden(version: SchemaVersion) -> dict[str, Any]:
    """What decoding a version's golden bytes must give: its sample plus current defaults."""
    value = samples.sample_for(version)
    value.update(version.filled_on_read)
    return value


def test_record_names_cover_every_schema_file() -> None:
    assert set(schemas.RECORD_NAMES) == set(schemas.REGISTRY.current)
    assert schemas.INBOX_COMMAND == "strom.v1.InboxCommand"


@pytest.mark.parametrize("record_name", schemas.RECORD_NAMES)
def test_round_trip_every_record(record_name: str) -> None:
    value = samples.SAMPLES[record_name]
    before = copy.deepcopy(value)

    data = schemas.encode(record_name, value)

    assert schemas.decode(data) == value
    assert schemas.decode(data, record_name) == value
    assert value == before  # encode must not touch its input


@pytest.mark.parametrize(
    ("record_name", "omitted", "defaults"),
    [
        (schemas.INBOX_COMMAND, ["reply_to"], {"reply_to": None}),
        (schemas.EVENT_BATCH, ["updates", "command_id"], {"updates": [], "command_id": None}),
        (
            schemas.VISIBILITY_RECORD,
            ["close_time_ms", "execution_duration_ms", "memo", "search_attributes", "deleted"],
            {
                "close_time_ms": None,
                "execution_duration_ms": None,
                "memo": b"",
                "search_attributes": b"",
                "deleted": False,
            },
        ),
        (schemas.REPLY, ["details", "details_type"], {"details": b"", "details_type": ""}),
        (schemas.NAMESPACE, ["data"], {"data": {}}),
    ],
)
def test_fields_with_defaults_may_be_left_out(
    record_name: str, omitted: list[str], defaults: dict[str, Any]
) -> None:
    value = {k: v for k, v in samples.SAMPLES[record_name].items() if k not in omitted}

    decoded = schemas.decode(schemas.encode(record_name, value), record_name)

    assert decoded == {**value, **defaults}
    assert all(type(decoded[k]) is type(v) for k, v in defaults.items())


def test_decode_accepts_bytearray_and_memoryview() -> None:
    value = samples.SAMPLES[schemas.REPLY]
    data = schemas.encode(schemas.REPLY, value)

    assert schemas.decode(bytearray(data)) == value
    assert schemas.decode(memoryview(data), schemas.REPLY) == value


def test_null_branches_and_empty_bytes_round_trip() -> None:
    value = {**samples.SAMPLES[schemas.INBOX_COMMAND], "reply_to": None, "payload": b""}

    assert schemas.decode(schemas.encode(schemas.INBOX_COMMAND, value)) == value


def test_fingerprint_algorithm_matches_the_avro_spec_vector() -> None:
    # The spec's CRC-64-AVRO of the schema "null"; pins the test's reference implementation.
    assert _rabin(b'"null"') == 0x63DD24E7CC258F8A


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=_ids(ALL_VERSIONS))
def test_header_is_avro_single_object_encoding(version: SchemaVersion) -> None:
    raw = json.loads(version.path.read_text())
    expected_fp = _rabin(to_parsing_canonical_form(raw).encode())

    data = schemas.Codec.encode_version(version, samples.sample_for(version))

    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == struct.pack("<Q", expected_fp)
    assert schemas.fingerprint_of(data) == expected_fp == version.fingerprint


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=_ids(ALL_VERSIONS))
def test_encoder_writes_the_golden_bytes(version: SchemaVersion) -> None:
    path = golden.GOLDEN_DIR / golden.golden_name(version)

    assert schemas.Codec.encode_version(version, samples.sample_for(version)) == path.read_bytes()


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=_ids(ALL_VERSIONS))
def test_decoder_reads_the_golden_bytes(version: SchemaVersion) -> None:
    data = (golden.GOLDEN_DIR / golden.golden_name(version)).read_bytes()

    assert schemas.decode(data, version.record_name) == _decoded_golden(version)


def test_golden_directory_has_no_missing_stale_or_orphan_file() -> None:
    assert golden.differences() == []
    assert golden.main([]) == 0


def test_golden_write_keeps_frozen_files_and_check_reports_changes(tmp_path: Any) -> None:
    written = golden.write(tmp_path)
    assert golden.differences(tmp_path) == []
    frozen = tmp_path / "strom.v1.VisibilityRecord.1.bin"
    frozen.write_bytes(b"edited")
    (tmp_path / "strom.v1.Gone.bin").write_bytes(b"")

    rewritten = golden.write(tmp_path)

    assert frozen in written and frozen not in rewritten
    assert golden.differences(tmp_path) == [
        f"differs: {frozen}",
        f"orphan: {tmp_path / 'strom.v1.Gone.bin'}",
    ]
    assert golden.main(["--dir", str(tmp_path)]) == 1


def test_unknown_fingerprint_raises_unknown_schema_error_naming_it() -> None:
    body = schemas.encode(schemas.TASK_RECORD, samples.SAMPLES[schemas.TASK_RECORD])[10:]
    data = b"\xc3\x01" + struct.pack("<Q", 0x0123456789ABCDEF) + body

    with pytest.raises(schemas.UnknownSchemaError, match="0123456789abcdef"):
        schemas.decode(data)
    assert schemas.fingerprint_of(data) == 0x0123456789ABCDEF


@pytest.mark.parametrize("version", CURRENT, ids=_ids(CURRENT))
def test_every_truncation_raises_schema_decode_error(version: SchemaVersion) -> None:
    data = schemas.encode(version.record_name, samples.SAMPLES[version.record_name])

    for end in range(len(data)):
        with pytest.raises(schemas.SchemaDecodeError):
            schemas.decode(data[:end])


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc3",
        b"\xc3\x02" + bytes(8) + b"\x00",
        b"garbage that is not avro at all",
        schemas.REGISTRY.current_of(schemas.TASK_RECORD).header + b"\xff" * 20,
        # A string length of 2 followed by invalid UTF-8.
        schemas.REGISTRY.current_of(schemas.REPLY).header + b"\x04\xff\xfe\x00\x00\x00",
        # A negative byte-string length.
        schemas.REGISTRY.current_of(schemas.REPLY).header + b"\x02a\x00\x00\x01",
    ],
)
def test_garbage_raises_schema_decode_error(data: bytes) -> None:
    with pytest.raises(schemas.SchemaDecodeError):
        schemas.decode(data)


def test_trailing_bytes_raise_schema_decode_error() -> None:
    data = schemas.encode(schemas.REPLY, samples.SAMPLES[schemas.REPLY])

    with pytest.raises(schemas.SchemaDecodeError, match="1 trailing bytes"):
        schemas.decode(data + b"\x00")


def test_fingerprint_of_rejects_bytes_without_header() -> None:
    with pytest.raises(schemas.SchemaDecodeError):
        schemas.fingerprint_of(b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09")


@pytest.mark.parametrize("expected", [schemas.REPLY, "strom.v1.NoSuchRecord"])
def test_decode_with_the_wrong_record_name_raises(expected: str) -> None:
    data = schemas.encode(schemas.TASK_RECORD, samples.SAMPLES[schemas.TASK_RECORD])

    with pytest.raises(schemas.RecordMismatchError, match=r"strom\.v1\.TaskRecord"):
        schemas.decode(data, expected)


def test_encode_unknown_record_raises() -> None:
    with pytest.raises(schemas.UnknownRecordError):
        schemas.encode("strom.v1.NoSuchRecord", {})


@pytest.mark.parametrize(
    "change",
    [
        {"run_id": None},
        {"attempt": "one"},
        {"task_token": "not bytes"},
        {"task_queu": "misspelt extra field"},
    ],
)
def test_encode_rejects_values_that_do_not_fit(change: dict[str, Any]) -> None:
    value = {**samples.SAMPLES[schemas.TASK_RECORD], **change}

    with pytest.raises(schemas.SchemaEncodeError):
        schemas.encode(schemas.TASK_RECORD, value)


def test_encode_rejects_a_missing_field_without_default() -> None:
    value = dict(samples.SAMPLES[schemas.TASK_RECORD])
    del value["attempt"]

    with pytest.raises(schemas.SchemaEncodeError, match="attempt"):
        schemas.encode(schemas.TASK_RECORD, value)


def test_encode_rejects_a_non_mapping() -> None:
    with pytest.raises(schemas.SchemaEncodeError):
        schemas.encode(schemas.REPLY, ["not", "a", "dict"])  # type: ignore[arg-type]


def test_errors_share_one_base() -> None:
    errors = [
        schemas.SchemaDecodeError,
        schemas.UnknownSchemaError,
        schemas.RecordMismatchError,
        schemas.SchemaEncodeError,
        schemas.UnknownRecordError,
        schemas.SchemaRegistryError,
    ]
    assert all(issubclass(e, schemas.SchemaError) for e in errors)
