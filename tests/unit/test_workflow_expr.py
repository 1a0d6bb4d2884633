"""Gate expressions: parsing, evaluation, unknown values, and errors that point at a column."""

from __future__ import annotations

import pytest

from shipyard.errors import InvalidArgument
from shipyard.workflows.expr import ExprError, Ref, evaluate, parse, refs

VALUES = {
    ("a", "metrics", "acc"): 0.95,
    ("params", "min"): 0.9,
    ("champion", "metrics", "acc"): 0.9,
}


def value(text: str, values: dict[tuple[str, ...], float | None] | None = None) -> object:
    table = VALUES if values is None else values
    return evaluate(parse(text), lambda parts: table[parts])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a.metrics.acc >= 0.9", True),
        ("a.metrics.acc >= params.min and a.metrics.acc < 1", True),
        ("a.metrics.acc >= champion.metrics.acc + 0.1", False),
        ("not a.metrics.acc > 1 or false", True),
        ("-(1 + 2) * 3 == -9", True),
        ("2 * 3 - 4 / 2 != 4", False),
        ("a.metrics.acc-0.04 >= 0.9", True),
        ("1e-3 < .5", True),
        ("(true)", True),
    ],
)
def test_evaluates(text: str, expected: bool) -> None:
    assert value(text) is expected


def test_unknown_values_make_comparisons_pass() -> None:
    unknown = {("a", "metrics", "acc"): 0.5, ("champion", "metrics", "acc"): None}
    assert value("a.metrics.acc >= champion.metrics.acc - 0.01", unknown) is True
    assert value("a.metrics.acc >= 0.9 and a.metrics.acc > champion.metrics.acc", unknown) is False


def test_lists_references_in_order() -> None:
    node = parse("a.metrics.acc >= champion.metrics.acc and params.min < 1")
    assert [str(r) for r in refs(node)] == ["a.metrics.acc", "champion.metrics.acc", "params.min"]
    assert isinstance(next(refs(parse("x.y"))), Ref)


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("a.metrics.acc >=", 17),
        ("a.metrics.acc >= 1 )", 20),
        ("1 + foo", 5),
        ("a.b @ 2", 5),
        ("(1", 3),
        ("__import__('os')", 12),
    ],
)
def test_syntax_errors_name_the_column(text: str, column: int) -> None:
    with pytest.raises(ExprError) as caught:
        parse(text)
    assert caught.value.column == column
    assert caught.value.hint


def test_division_by_zero_is_an_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match="division by zero"):
        value("1 / 0 > 1")
