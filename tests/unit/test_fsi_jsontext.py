"""The national interface's JSON writer (fsi/jsontext.py) writes with orjson the very text
its plain writer writes: the answers and the request hashes of stored messages do not
move."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from yibao.fsi.jsontext import Constant, dumps, loads, plain_dumps

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),  # past 64 bits: the plain writer
    st.decimals(allow_nan=False, allow_infinity=False, places=4, max_value=10**12),
    st.decimals(allow_nan=False, allow_infinity=False),  # exponents: 1E+2, 1E-7
    st.text(),  # any character, lone surrogates included
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=30,
)


@given(values, st.booleans())
def test_orjson_writes_what_the_plain_writer_writes(value: object, sort_keys: bool) -> None:
    try:
        want = plain_dumps(value, sort_keys=sort_keys)
    except (TypeError, ValueError):
        return  # the plain writer refuses it: nothing to agree with
    assert dumps(value, sort_keys=sort_keys) == want


def test_amounts_keep_their_decimals_and_order() -> None:
    answer = {"b": Decimal("12.50"), "a": [Decimal("-0.00"), 1, "人员", None, True]}
    assert dumps(answer) == '{"b":12.50,"a":[-0.00,1,"人员",null,true]}'
    assert dumps(answer, sort_keys=True) == '{"a":[-0.00,1,"人员",null,true],"b":12.50}'


def test_what_orjson_writes_otherwise_is_written_as_before() -> None:
    message = loads('{"x": NaN, "y": [-Infinity, 1.5], "z": 2e3}')
    assert isinstance(message["x"], Constant)
    assert message["y"][1] == Decimal("1.5")
    assert dumps(message) == '{"x":NaN,"y":[-Infinity,1.5],"z":2000}'
    assert dumps({"k": "\ud800"}) == plain_dumps({"k": "\ud800"})
    assert dumps({1: "a"}) == '{"1":"a"}'  # a key that is no string
