"""The JSON codec of internal messages and state: exact output, strict decoding, clone."""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass, field

import pytest

from schemas import jsoncodec as codec
from schemas.exceptions import PayloadDecodeError


class Color(enum.Enum):
    RED = "red"


@dataclass(frozen=True)
class Leaf:
    name: str
    data: bytes = b""


@dataclass
class Tree:
    count: int
    ratio: float = 0.0
    flag: bool = False
    color: Color = Color.RED
    leaf: Leaf | None = None
    leaves: list[Leaf] = field(default_factory=list)
    by_id: dict[int, Leaf] = field(default_factory=dict)


def sample() -> Tree:
    return Tree(
        count=3,
        ratio=0.5,
        flag=True,
        leaf=Leaf("a", b"\x00\x01"),
        leaves=[Leaf("b"), Leaf("c", b"x")],
        by_id={7: Leaf("d")},
    )


def test_dumps_writes_sorted_compact_json_with_base64_bytes_and_enum_values() -> None:
    assert codec.dumps(sample()) == (
        b'{"by_id":{"7":{"data":"","name":"d"}},"color":"red","count":3,"flag":true,'
        b'"leaf":{"data":"AAE=","name":"a"},"leaves":[{"data":"","name":"b"},'
        b'{"data":"eA==","name":"c"}],"ratio":0.5}'
    )


def test_loads_round_trips_and_restores_int_keys_and_types() -> None:
    tree = codec.loads(Tree, codec.dumps(sample()))
    assert tree == sample()
    assert list(tree.by_id) == [7]
    assert tree.color is Color.RED


def test_unknown_keys_are_ignored_and_missing_ones_take_defaults() -> None:
    assert codec.loads(Tree, b'{"count":1,"future":{"x":1}}') == Tree(count=1)


def test_an_int_field_accepts_no_bool_and_no_string() -> None:
    for bad in (b'{"count":true}', b'{"count":"1"}'):
        with pytest.raises(PayloadDecodeError, match="expected int"):
            codec.loads(Tree, bad)


def test_wrong_shapes_are_payload_decode_errors() -> None:
    for bad in (
        b"[1]",
        b'{"count":1,"leaf":"x"}',
        b'{"count":1,"leaf":{"name":2}}',
        b'{"count":1,"leaf":{"name":"a","data":"not base64!"}}',
        b'{"count":1,"color":"blue"}',
        b"not json",
    ):
        with pytest.raises(PayloadDecodeError):
            codec.loads(Tree, bad)


def test_a_float_field_takes_an_integral_json_number() -> None:
    tree = codec.loads(Tree, b'{"count":1,"ratio":2}')
    assert tree.ratio == 2.0 and isinstance(tree.ratio, float)


def test_clone_is_equal_and_shares_no_mutable_part() -> None:
    tree = sample()
    twin = codec.clone(tree)
    assert twin == tree == copy.deepcopy(tree)
    assert twin is not tree
    assert twin.leaves is not tree.leaves and twin.by_id is not tree.by_id
    twin.leaves.append(Leaf("e"))
    twin.by_id[8] = Leaf("f")
    twin.count = 4
    assert tree == sample()


def test_clone_copies_frozen_dataclasses_and_tuples() -> None:
    leaf = Leaf("a", b"z")
    assert codec.clone(leaf) == leaf
    pair = ([1], Leaf("b"))
    twin = codec.clone(pair)
    assert twin == pair and twin[0] is not pair[0]


@dataclass(frozen=True)
class FrozenBag:
    items: list[int] = field(default_factory=list)


@dataclass
class Holder:
    tree: Tree
    bag: FrozenBag
    note: str | None = None
    leaf: Leaf | None = None


@dataclass(slots=True)
class Slotted:
    values: list[int]
    name: str = ""


def test_clone_shares_immutable_fields_and_copies_every_mutable_one() -> None:
    holder = Holder(tree=sample(), bag=FrozenBag([1]), note="n", leaf=Leaf("x"))
    twin = codec.clone(holder)
    assert twin == holder and twin is not holder
    assert twin.leaf is holder.leaf  # a frozen dataclass of immutable fields is shared
    # A frozen dataclass holding a list is not immutable: it is copied, list and all.
    assert twin.bag is not holder.bag and twin.bag.items is not holder.bag.items
    twin.bag.items.append(2)
    twin.tree.leaves.append(Leaf("e"))
    twin.tree.count = 9
    assert holder == Holder(tree=sample(), bag=FrozenBag([1]), note="n", leaf=Leaf("x"))


def test_slotted_dataclasses_clone_and_encode_too() -> None:
    value = Slotted([1, 2], "s")
    twin = codec.clone(value)
    assert twin == value and twin.values is not value.values
    assert codec.dumps(value) == b'{"name":"s","values":[1,2]}'


def test_nested_dataclasses_encode_as_the_generic_conversion_does() -> None:
    holder = Holder(tree=sample(), bag=FrozenBag([3]), note=None, leaf=Leaf("x", b"\x01"))
    assert codec.dumps(holder) == (
        b'{"bag":{"items":[3]},"leaf":{"data":"AQ==","name":"x"},"note":null,"tree":'
        + codec.dumps(sample())
        + b"}"
    )
    assert codec.loads(Holder, codec.dumps(holder)) == holder


def test_the_fast_encoder_writes_what_the_json_module_writes() -> None:
    # Many int keys (sorted as strings: "10" before "9"), nesting, bytes, bytearray, tuples.
    tree = Tree(
        count=-(2**63),
        ratio=2.5,
        leaves=[Leaf(f"n{i}", bytes([i]) * i) for i in range(12)],
        by_id={i: Leaf(str(i), b"\xff") for i in (10, 9, 100, 1, 0)},
    )
    tree.leaf = Leaf("ascii", bytearray(b"ab"))  # type: ignore[arg-type]
    assert codec.dumps(tree) == codec._dumps_json(tree)
    assert codec.loads(Tree, codec.dumps(tree)).by_id == tree.by_id


def test_floats_read_back_equal_though_their_digits_may_differ() -> None:
    # orjson writes 1e-7 where repr() writes 1e-07: the same number either way.
    for ratio in (1e-7, 0.1, 2.0, 1.7976931348623157e308, -0.0):
        assert codec.loads(Tree, codec.dumps(Tree(count=1, ratio=ratio))).ratio == ratio


def test_non_ascii_text_reads_back_whichever_encoder_wrote_it() -> None:
    tree = Tree(count=1, leaf=Leaf("Grüße ☃ \U0001f600 \x00"))
    for raw in (codec.dumps(tree), codec._dumps_json(tree)):
        assert codec.loads(Tree, raw) == tree


def test_values_orjson_cannot_write_fall_back_to_the_json_module() -> None:
    # json writes NaN and Infinity tokens and ints past 64 bits; orjson would write null or
    # refuse: the fallback keeps what `json` wrote, and reading accepts it back.
    for tree in (Tree(count=1, ratio=float("nan")), Tree(count=1, ratio=float("-inf"))):
        raw = codec.dumps(tree)
        assert raw == codec._dumps_json(tree)
        assert b"NaN" in raw or b"-Infinity" in raw
    big = Tree(count=2**70)
    assert codec.dumps(big) == codec._dumps_json(big)
    assert codec.loads(Tree, codec.dumps(big)).count == 2**70


def test_an_unknown_type_is_still_a_type_error() -> None:
    with pytest.raises(TypeError):
        codec.dumps(Tree(count=1, leaf=object()))  # type: ignore[arg-type]
