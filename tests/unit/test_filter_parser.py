"""The search grammar: text to AST, order terms, and errors that name the position and the token."""

from __future__ import annotations

import pytest

from shipyard.domain.filter import (
    And,
    Compare,
    Field,
    In,
    IsNull,
    Like,
    Not,
    Or,
    OrderTerm,
    parse_filter,
    parse_order_by,
)
from shipyard.errors import FilterSyntaxError, InvalidArgument

ACC = Field("metric", "acc", "last")
LR = Field("param", "lr")
TEAM = Field("tag", "team")
STATUS = Field("attr", "status")
JAN_1_2026_MS = 1_767_225_600_000


def test_empty_and_blank_filters_are_none() -> None:
    assert parse_filter("") is None
    assert parse_filter("   \n\t") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.acc > 0.9", Compare(ACC, ">", 0.9)),
        ("metrics.acc>=1", Compare(ACC, ">=", 1)),
        ("metrics.acc < -2", Compare(ACC, "<", -2)),
        ("metrics.acc <= 1e-3", Compare(ACC, "<=", 0.001)),
        ("metrics.acc = .5", Compare(ACC, "=", 0.5)),
        ("metrics.acc != 2.5E+2", Compare(ACC, "!=", 250.0)),
        ("metrics.acc <> 3", Compare(ACC, "!=", 3)),
        ("params.lr = 'x'", Compare(LR, "=", "x")),
        ('params.lr = "x"', Compare(LR, "=", "x")),
        ("params.lr = true", Compare(LR, "=", True)),
        ("params.lr = FALSE", Compare(LR, "=", False)),
        ("tags.team = 'nlp'", Compare(TEAM, "=", "nlp")),
    ],
)
def test_comparisons(text: str, expected: Compare) -> None:
    assert parse_filter(text) == expected


def test_integers_beyond_64_bits_become_floats() -> None:
    expr = parse_filter("params.n = 99999999999999999999")
    assert expr == Compare(Field("param", "n"), "=", 1e20)


def test_number_literals_keep_int_or_float() -> None:
    ints = parse_filter("params.depth = 4")
    floats = parse_filter("params.depth = 4.0")
    assert isinstance(ints, Compare)
    assert isinstance(floats, Compare)
    assert type(ints.value) is int
    assert type(floats.value) is float


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("params.x = 'it''s'", "it's"),
        (r"params.x = 'it\'s'", "it's"),
        ('params.x = "say ""hi"""', 'say "hi"'),
        (r"params.x = 'a\\b'", "a\\b"),
        (r"params.x = 'tab\there'", "tab\there"),
        ("params.x = ''", ""),
        (r"params.x = '50\%'", "50\\%"),
        (r"params.x = 'a\_b'", "a\\_b"),
        ("params.x = 'AND OR NOT ( ) ,'", "AND OR NOT ( ) ,"),
    ],
)
def test_string_escapes(text: str, value: str) -> None:
    assert parse_filter(text) == Compare(Field("param", "x"), "=", value)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("status = 'RUNNING'", STATUS),
        ("attributes.status = 'RUNNING'", STATUS),
        ("run.status = 'RUNNING'", STATUS),
        ("Attributes.STATUS = 'RUNNING'", STATUS),
        ("params.a.b = 'x'", Field("param", "a.b")),
        ("params.lr-decay/v2:x = 'x'", Field("param", "lr-decay/v2:x")),
        ("params.`my key` = 'x'", Field("param", "my key")),
        ("params.\"my key\" = 'x'", Field("param", "my key")),
        ("tags.`with ``tick``` = 'x'", Field("tag", "with `tick`")),
        ("param.lr = 'x'", LR),
        ("tag.team = 'x'", TEAM),
    ],
)
def test_fields_and_aliases(text: str, field: Field) -> None:
    expr = parse_filter(text)
    assert isinstance(expr, Compare)
    assert expr.field == field


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("metrics.acc = 1", Field("metric", "acc", "last")),
        ("metrics.acc.last = 1", Field("metric", "acc", "last")),
        ("metrics.acc.min = 1", Field("metric", "acc", "min")),
        ("metrics.acc.MAX = 1", Field("metric", "acc", "max")),
        ("metrics.val.acc = 1", Field("metric", "val.acc", "last")),
        ("metrics.val.acc.max = 1", Field("metric", "val.acc", "max")),
        ("metrics.max = 1", Field("metric", "max", "last")),
        ("metrics.acc.median = 1", Field("metric", "acc.median", "last")),
        ("metrics.`val loss` = 1", Field("metric", "val loss", "last")),
        ("metrics.`val.min` = 1", Field("metric", "val.min", "last")),
        ("metrics.`val loss`.min = 1", Field("metric", "val loss", "min")),
        ('metrics."val loss".max = 1', Field("metric", "val loss", "max")),
        ("metric.acc = 1", Field("metric", "acc", "last")),
    ],
)
def test_metric_keys_and_aggregates(text: str, field: Field) -> None:
    expr = parse_filter(text)
    assert isinstance(expr, Compare)
    assert expr.field == field


def test_keywords_are_case_insensitive_but_keys_are_not() -> None:
    expr = parse_filter("params.Opt in ('a') and NOT tags.T like 'x' or metrics.A is not null")
    assert expr == Or(
        (
            And(
                (
                    In(Field("param", "Opt"), ("a",)),
                    Not(Like(Field("tag", "T"), "x")),
                )
            ),
            IsNull(Field("metric", "A", "last"), negate=True),
        )
    )


def test_and_binds_tighter_than_or() -> None:
    a, b, c = (Compare(Field("param", k), "=", 1) for k in "abc")
    assert parse_filter("params.a = 1 OR params.b = 1 AND params.c = 1") == Or((a, And((b, c))))
    assert parse_filter("(params.a = 1 OR params.b = 1) AND params.c = 1") == And((Or((a, b)), c))
    assert parse_filter("params.a = 1 AND params.b = 1 AND params.c = 1") == And((a, b, c))


def test_not_applies_to_one_atom() -> None:
    a, b = (Compare(Field("param", k), "=", 1) for k in "ab")
    assert parse_filter("NOT params.a = 1 AND params.b = 1") == And((Not(a), b))
    assert parse_filter("NOT (params.a = 1 AND params.b = 1)") == Not(And((a, b)))
    assert parse_filter("NOT NOT params.a = 1") == Not(Not(a))
    assert parse_filter("((params.a = 1))") == a


def test_in_lists() -> None:
    assert parse_filter("params.lr IN (0.1, 'auto', true)") == In(LR, (0.1, "auto", True))
    assert parse_filter("params.lr NOT IN ('x')") == In(LR, ("x",), negate=True)
    assert parse_filter("status in ('finished', 'Failed')") == In(STATUS, ("FINISHED", "FAILED"))


def test_like_and_ilike() -> None:
    assert parse_filter("tags.team LIKE 'vis%'") == Like(TEAM, "vis%")
    assert parse_filter("tags.team NOT LIKE 'v_s'") == Like(TEAM, "v_s", negate=True)
    assert parse_filter("name ILIKE '%Bert%'") == Like(Field("attr", "name"), "%Bert%", True)
    assert parse_filter("name not ilike 'x'") == Like(Field("attr", "name"), "x", True, True)


def test_null_checks() -> None:
    end = Field("attr", "end_time")
    assert parse_filter("end_time IS NULL") == IsNull(end)
    assert parse_filter("end_time is not null") == IsNull(end, negate=True)
    assert parse_filter("params.lr = null") == IsNull(LR)
    assert parse_filter("params.lr != NULL") == IsNull(LR, negate=True)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("start_time > 1767225600000", JAN_1_2026_MS),
        ("start_time > 1.5e3", 1500),
        ("start_time > '2026-01-01'", JAN_1_2026_MS),
        ("start_time > '2026-01-01T10:00:00Z'", JAN_1_2026_MS + 10 * 3_600_000),
        ("start_time > '2026-01-01T10:00:00+02:00'", JAN_1_2026_MS + 8 * 3_600_000),
        ("start_time > '2026-01-01 00:00:00.250'", JAN_1_2026_MS + 250),
        ("end_time < '1970-01-01T00:00:01Z'", 1000),
    ],
)
def test_time_attributes_become_epoch_ms(text: str, ms: int) -> None:
    expr = parse_filter(text)
    assert isinstance(expr, Compare)
    assert expr.value == ms
    assert type(expr.value) is int


def test_status_is_checked_and_normalised() -> None:
    assert parse_filter("status = 'finished'") == Compare(STATUS, "=", "FINISHED")
    assert parse_filter("status LIKE 'FIN%'") == Like(STATUS, "FIN%")
    with pytest.raises(FilterSyntaxError, match="'done'") as info:
        parse_filter("status = 'done'")
    assert info.value.position == 9
    assert info.value.hint is not None
    assert "FINISHED" in info.value.hint


def test_duration_takes_milliseconds() -> None:
    assert parse_filter("duration >= 60000") == Compare(Field("attr", "duration"), ">=", 60000)


@pytest.mark.parametrize(
    ("text", "position", "token", "hint_fragment"),
    [
        ("metrics.acc > ", 14, "", "expected a value after '>'"),
        ("(metrics.acc > 1", 16, "", "')'"),
        ("metrics.acc > 1)", 15, ")", "AND, OR"),
        ("metrics.acc > 1 AND (params.x = 1 OR )", 37, ")", "expected a field"),
        ("metrics.acc > )", 14, ")", "expected a value after '>'"),
        ("metrics.acc 0.5", 12, "0.5", "expected an operator"),
        ("metrics.acc == 1", 13, "=", "expected a value after '='"),
        ("acc > 0.5", 0, "acc", "metrics.acc, params.lr, tags.team or status"),
        ("foo.bar = 1", 0, "foo.bar", "metrics.acc"),
        ("attributes.color = 'x'", 0, "attributes.color", "attributes are"),
        ("params. = 1", 0, "params.", "metrics.acc"),
        ("AND metrics.acc > 1", 0, "AND", "expected a field"),
        ("metrics.acc > 1 AND", 19, "", "expected a field"),
        ("metrics.acc > 1 metrics.b > 2", 16, "metrics.b", "AND, OR"),
        ("params.x = 'open", 11, "'open", "close it with '"),
        ("params.x = 1 ; DROP TABLE runs", 13, ";", None),
        ("params.x IN 1", 12, "1", "parentheses"),
        ("params.x IN ()", 13, ")", "value in the IN list"),
        ("params.x IN (1 2)", 15, "2", "',' or ')'"),
        ("params.x IN (1, null)", 16, "null", "IS NULL"),
        ("params.x IS 1", 12, "1", "IS NULL or IS NOT NULL"),
        ("params.x LIKE 1", 14, "1", "quoted pattern"),
        ("params.x NOT = 1", 13, "=", "expected an operator"),
        ("params.x > null", 11, "null", "= null"),
        ("metrics.acc = 'high'", 14, "'high'", "numbers"),
        ("metrics.acc = true", 14, "true", "numbers"),
        ("metrics.acc LIKE 'a%'", 17, "'a%'", "compare numbers"),
        ("metrics.`acc`.median > 1", 0, "metrics.`acc`.median", ".last, .min or .max"),
        ("params.`a`.b = 1", 0, "params.`a`.b", "quote the whole key"),
        ("tags.team = 5", 12, "5", "quoted text"),
        ("name = 1", 7, "1", "quoted text"),
        ("start_time > 'yesterday'", 13, "'yesterday'", "ISO-8601"),
        ("start_time > true", 13, "true", "epoch milliseconds"),
        ("start_time > 1e400", 13, "1e400", "epoch milliseconds"),
        ("end_time < 99999999999999999999", 11, "99999999999999999999", "epoch milliseconds"),
        ("name = 'a\x00'", 9, "\x00", "NUL"),
        ("duration > '1h'", 11, "'1h'", "numbers"),
        ("status > 'FAILED'", 7, ">", "status supports"),
        ("`status` = 'x'", 0, "`status`", "expected a field"),
        ("params.x = @", 11, "@", None),
    ],
)
def test_syntax_errors_name_position_and_token(
    text: str, position: int, token: str, hint_fragment: str | None
) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    error = info.value
    assert (error.position, error.token) == (position, token)
    assert f"at position {position}" in error.message
    assert isinstance(error, InvalidArgument)
    assert error.hint
    if hint_fragment is not None:
        assert hint_fragment in error.hint


def test_error_message_quotes_the_token() -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter("metrics.acc > 0.9 AND (params.x = 1))")
    assert info.value.message == "unexpected token ')' at position 36"
    assert info.value.to_dict()["position"] == "36"


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("-metrics.acc", OrderTerm(ACC, descending=True)),
        ("+metrics.acc", OrderTerm(ACC)),
        ("metrics.acc DESC", OrderTerm(ACC, descending=True)),
        ("metrics.acc desc", OrderTerm(ACC, descending=True)),
        ("metrics.acc.max ASC", OrderTerm(Field("metric", "acc", "max"))),
        ("params.lr ASC", OrderTerm(LR)),
        ("  start_time  ", OrderTerm(Field("attr", "start_time"))),
        ("name", OrderTerm(Field("attr", "name"))),
        ("-duration", OrderTerm(Field("attr", "duration"), descending=True)),
        ("-tags.`team name`", OrderTerm(Field("tag", "team name"), descending=True)),
        ("attributes.end_time DESC", OrderTerm(Field("attr", "end_time"), descending=True)),
    ],
)
def test_order_terms(term: str, expected: OrderTerm) -> None:
    assert parse_order_by([term]) == [expected]


def test_order_by_keeps_term_order() -> None:
    assert parse_order_by(["status", "-metrics.acc"]) == [
        OrderTerm(STATUS),
        OrderTerm(ACC, descending=True),
    ]
    assert parse_order_by([]) == []


@pytest.mark.parametrize(
    ("term", "position", "token"),
    [
        ("", 0, ""),
        ("  -", 2, "-"),
        ("metrics.acc UP", 12, "UP"),
        ("-metrics.acc DESC", 13, "DESC"),
        ("metrics.acc DESC extra", 17, "extra"),
        ("- foo", 2, "foo"),
        ("metrics.acc > 1", 12, ">"),
    ],
)
def test_bad_order_terms(term: str, position: int, token: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_order_by([term])
    assert (info.value.position, info.value.token) == (position, token)
    assert info.value.hint


def test_nesting_is_bounded() -> None:
    deep = "(" * 64 + "params.a = 1" + ")" * 64
    assert parse_filter(deep) == Compare(Field("param", "a"), "=", 1)
    with pytest.raises(FilterSyntaxError, match="nests too deeply") as info:
        parse_filter("(" * 5000 + "params.a = 1" + ")" * 5000)
    assert info.value.position == 64
    with pytest.raises(FilterSyntaxError, match="nests too deeply"):
        parse_filter("NOT " * 5000 + "params.a = 1")
    many = " AND ".join(["NOT (params.a = 1)"] * 500)
    parsed = parse_filter(many)
    assert isinstance(parsed, And)
    assert len(parsed.items) == 500


@pytest.mark.parametrize("text", ["ª = 1", "params.x = 1 and é > 2", "名前 = 'x'"])
def test_non_ascii_letters_outside_quotes_are_a_syntax_error(text: str) -> None:
    # found by the schemathesis fuzz run: these used to fail an internal assertion (a 500)
    with pytest.raises(FilterSyntaxError, match="unexpected character"):
        parse_filter(text)
