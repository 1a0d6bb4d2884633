"""Signature inference from arrays, dicts and records, and the checks of coerce_inputs."""

from __future__ import annotations

import numpy as np
import pytest

from shipyard.errors import InvalidArgument
from shipyard.flavors import ColSpec, Signature, infer_signature


def test_an_array_is_a_tensor() -> None:
    sig = infer_signature(np.zeros((3, 4), dtype=np.float32), np.zeros(3, dtype=np.int64))
    assert sig.inputs == [ColSpec(None, "float32", (-1, 4))]
    assert sig.outputs == [ColSpec(None, "int64", (-1,))]
    assert sig.names is None


def test_dicts_and_records_are_named_columns() -> None:
    by_column = infer_signature({"x": np.array([1.5, 2.5]), "n": [1, 2], "s": ["a", "b"]})
    by_record = infer_signature([{"x": 1.5, "n": 1, "s": "a"}, {"x": 2.5, "n": 2, "s": "b"}])
    expected = [ColSpec("x", "float64"), ColSpec("n", "int64"), ColSpec("s", "string")]
    assert by_column.inputs == expected
    assert by_record.inputs == expected
    assert infer_signature({"x": 1.0}).inputs == [ColSpec("x", "float64")]


def test_small_types_widen() -> None:
    sig = infer_signature({"a": np.array([1], np.int8), "b": np.array([True]), "c": [1.0]})
    assert [c.dtype for c in sig.inputs] == ["int32", "bool", "float64"]
    assert infer_signature(np.array([1], np.uint32)).inputs[0].dtype == "int64"


def test_round_trips_through_dicts() -> None:
    sig = Signature([ColSpec("a", "float32"), ColSpec("b", "int64", (-1, 3))], None)
    assert Signature.from_dict(sig.to_dict()) == sig
    with pytest.raises(InvalidArgument, match="unknown signature dtype 'complex'"):
        ColSpec.from_dict({"name": "a", "dtype": "complex"})


NAMED = Signature([ColSpec(n, "float64") for n in ("a", "b", "c", "d")])


def test_named_columns_come_back_in_signature_order() -> None:
    out = NAMED.coerce_inputs({"d": [4], "c": [3], "b": [2], "a": [1]})
    assert out.tolist() == [[1.0, 2.0, 3.0, 4.0]]
    assert out.dtype == np.float64
    assert NAMED.coerce_inputs([[1, 2, 3, 4]]).tolist() == [[1.0, 2.0, 3.0, 4.0]]
    assert NAMED.coerce_inputs({"a": 1, "b": 2, "c": 3, "d": 4}).shape == (1, 4)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"a": [1], "b": [2], "c": [3]}, r"expected 4 input columns \[a, b, c, d\], got 3 "),
        ({"a": [1], "b": [2], "c": [3], "d": [4], "e": [5]}, r"unknown \[e\]"),
        ([[1, 2, 3]], r"expected 4 input columns \[a, b, c, d\], got 3"),
        ({"a": [1, 2], "b": [2], "c": [3], "d": [4]}, "different lengths"),
        ({"a": ["x"], "b": [2], "c": [3], "d": [4]}, "'a' expects float64 values, got string"),
        ([[1, 2], [1, 2, 3]], "rows of different lengths|not a rectangular"),
    ],
)
def test_named_columns_refuse_what_does_not_fit(data: object, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as caught:
        NAMED.coerce_inputs(data)
    assert caught.value.hint


def test_tensors_check_their_shape_and_type() -> None:
    sig = Signature([ColSpec(None, "float32", (-1, 4))])
    assert sig.coerce_inputs([1, 2, 3, 4]).shape == (1, 4)
    assert sig.coerce_inputs(np.ones((2, 4))).dtype == np.float32
    with pytest.raises(InvalidArgument, match="expected 4 input columns, got 3"):
        sig.coerce_inputs([[1, 2, 3]])
    with pytest.raises(InvalidArgument, match="not named columns"):
        sig.coerce_inputs({"a": [1]})
    ints = Signature([ColSpec(None, "int64", (-1, 2))])
    assert ints.coerce_inputs([[1.0, 2.0]]).tolist() == [[1, 2]]
    with pytest.raises(InvalidArgument, match="whole numbers"):
        ints.coerce_inputs([[1.5, 2.0]])
    images = Signature([ColSpec(None, "float32", (-1, 2, 2))])
    with pytest.raises(InvalidArgument, match=r"shape \(N, 2, 2\), got \(1, 2, 3\)"):
        images.coerce_inputs(np.zeros((1, 2, 3)))
