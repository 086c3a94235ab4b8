"""Golden encodings of a fixed sample per schema version: checked by default, rewritten on --write.

Usage::

    python tests/golden/schema_golden.py          # exit 1: a golden file is missing or stale
    python tests/golden/schema_golden.py --write  # regenerate tests/golden/schemas/*.bin
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from schemas import REGISTRY, Codec
from schemas._registry import Registry, SchemaVersion
from schemas.samples import sample_for

GOLDEN_DIR = Path(__file__).resolve().parent / "schemas"
"""Where the golden files live."""


def golden_name(version: SchemaVersion) -> str:
    """File name of a version's golden bytes: the .avsc file's name with .bin."""
    return version.path.stem + ".bin"


def expected(registry: Registry = REGISTRY) -> dict[str, bytes]:
    """Golden file name to the bytes the encoder writes today, for every version."""
    return {
        golden_name(v): Codec.encode_version(v, sample_for(v)) for v in registry.by_header.values()
    }


def differences(directory: Path = GOLDEN_DIR, registry: Registry = REGISTRY) -> list[str]:
    """Golden files that are missing, stale or orphaned; empty when all match."""
    want = expected(registry)
    problems = []
    for name, data in sorted(want.items()):
        path = directory / name
        if not path.exists():
            problems.append(f"missing: {path}")
        elif path.read_bytes() != data:
            problems.append(f"differs: {path}")
    problems += [f"orphan: {p}" for p in sorted(directory.glob("*.bin")) if p.name not in want]
    return problems


def write(directory: Path = GOLDEN_DIR, registry: Registry = REGISTRY) -> list[Path]:
    """Writes the golden files of current versions, and of frozen versions that have none.

    A frozen version's existing golden file is never rewritten: if it differs, its .avsc file
    was edited, which ``differences`` reports and only undoing the edit fixes.

    Returns:
        The files written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    frozen = {golden_name(v) for v in registry.by_header.values() if not v.is_current}
    written = []
    for name, data in sorted(expected(registry).items()):
        path = directory / name
        if name in frozen and path.exists():
            continue
        path.write_bytes(data)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Checks the golden files, after rewriting them on --write; returns the exit code."""
    parser = argparse.ArgumentParser(prog="schema_golden.py", description=__doc__)
    parser.add_argument("--write", action="store_true", help="regenerate the golden files")
    parser.add_argument("--dir", type=Path, default=GOLDEN_DIR, help="golden directory")
    args = parser.parse_args(argv)
    if args.write:
        for path in write(args.dir):
            print(f"wrote {path}")
    problems = differences(args.dir)
    for problem in problems:
        print(problem)
    if problems and not args.write:
        print("run `python tests/golden/schema_golden.py --write` if the schema change is intended")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
