"""The internal worker's token for a frontend that requires authorization."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker_service.__main__ import build_parser, read_token


def test_no_file_no_token() -> None:
    assert read_token(build_parser().parse_args([]).auth_token_file) is None


def test_a_missing_or_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="cannot read --auth-token-file"):
        read_token(tmp_path / "absent.jwt")
    empty = tmp_path / "empty.jwt"
    empty.write_text("\n")
    with pytest.raises(SystemExit, match="is empty"):
        read_token(empty)
