"""The run search grammar: text in, a small typed AST out. Pure: no I/O, no SQL.

::

    expr       := or ;  or := and ('OR' and)* ;  and := not ('AND' not)* ;  not := 'NOT' not | atom
    atom       := '(' expr ')' | comparison
    comparison := field op value | field ['NOT'] 'IN' '(' value (',' value)* ')'
                | field ['NOT'] ('LIKE' | 'ILIKE') string | field 'IS' ['NOT'] 'NULL'
    field      := status | name | user | start_time | end_time | id | parent_id | duration
                | params.<key> | tags.<key> | metrics.<key>[.last|.min|.max]

Keys may be backquoted or double-quoted (``params.`my key```, ``metrics."val loss".min``).
Quoted text takes ``''`` (or ``\\'``) for a quote; ``\\%`` and ``\\_`` stay as written, for
``LIKE`` patterns that match a literal ``%`` or ``_``.
Keywords are case-insensitive; keys are not. Time fields take epoch milliseconds or ISO-8601 text
and are converted to milliseconds here; ``status`` values are checked against :class:`RunStatus`.
``field = null`` means ``field IS NULL``. Every error is a :class:`FilterSyntaxError` carrying the
0-based position and the offending token.

Example::

    >>> parse_filter("metrics.acc > 0.9 AND params.model = 'rf'")
    And(items=(Compare(...), Compare(...)))
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from shipyard.domain.entities import RunStatus
from shipyard.errors import FilterSyntaxError

FieldKind = Literal["attr", "param", "tag", "metric"]
Scalar = str | int | float | bool
"""A literal of the grammar (``null`` never reaches the AST: it becomes :class:`IsNull`)."""

ATTRIBUTES = frozenset(
    {"status", "name", "user", "start_time", "end_time", "id", "parent_id", "duration"}
)
METRIC_AGGREGATES = frozenset({"last", "min", "max"})
OPERATORS = frozenset({"=", "!=", "<", "<=", ">", ">="})
MAX_DEPTH = 64
FIELD_HINT = "fields look like metrics.acc, params.lr, tags.team or status"

_PREFIXES: dict[str, FieldKind] = {
    "params": "param",
    "param": "param",
    "tags": "tag",
    "tag": "tag",
    "metrics": "metric",
    "metric": "metric",
    "attributes": "attr",
    "attribute": "attr",
    "attr": "attr",
    "run": "attr",
}
_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "IS", "NULL", "TRUE", "FALSE"})
_TIME_ATTRS = frozenset({"start_time", "end_time"})
_TEXT_ATTRS = frozenset({"status", "name", "user", "id", "parent_id"})
_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-/:.]*")
_NUMBER_RE = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_INT64 = range(-(2**63), 2**63)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- the AST ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Field:
    """What a condition looks at: an attribute of the run, or one param, tag or metric key.

    ``agg`` is ``'last'``, ``'min'`` or ``'max'`` for metrics and ``None`` otherwise.
    """

    kind: FieldKind
    key: str
    agg: str | None = None

    def __str__(self) -> str:
        if self.kind == "attr":
            return self.key
        suffix = "" if self.agg in (None, "last") else f".{self.agg}"
        return f"{self.kind}s.{self.key}{suffix}"


@dataclass(frozen=True, slots=True)
class Compare:
    """``field op value``; ``op`` is one of ``= != < <= > >=`` (``<>`` is stored as ``!=``)."""

    field: Field
    op: str
    value: Scalar


@dataclass(frozen=True, slots=True)
class In:
    """``field [NOT] IN (v1, v2, ...)``."""

    field: Field
    values: tuple[Scalar, ...]
    negate: bool = False


@dataclass(frozen=True, slots=True)
class Like:
    """``field [NOT] LIKE|ILIKE pattern`` with ``%`` and ``_`` wildcards (``\\`` escapes them)."""

    field: Field
    pattern: str
    case_insensitive: bool = False
    negate: bool = False


@dataclass(frozen=True, slots=True)
class IsNull:
    """``field IS [NOT] NULL``: for params, tags and metrics, whether the run has no such value."""

    field: Field
    negate: bool = False


@dataclass(frozen=True, slots=True)
class And:
    """All of ``items`` hold."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one of ``items`` holds."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """``item`` does not hold."""

    item: Expr


Expr = Compare | In | Like | IsNull | And | Or | Not


@dataclass(frozen=True, slots=True)
class OrderTerm:
    """One sort key of a search."""

    field: Field
    descending: bool = False


# -- tokens -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "(", ")", ",", "op", "str", "num", "word", "qfield", "bq", "eof"
    text: str
    pos: int
    value: Scalar | None = None
    parts: tuple[str, str, str | None] = ("", "", None)  # a qfield's prefix, key and suffix


def _error(message: str, pos: int, token: str, hint: str | None) -> FilterSyntaxError:
    return FilterSyntaxError(f"{message} at position {pos}", pos, token, hint)


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read the quoted text opening at ``start``; return its value and the index after it."""
    quote, out, i = text[start], [], start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            # \% and \_ stay escaped: they are LIKE's literal percent and underscore
            out.append(ch + nxt if nxt in "%_" else _ESCAPES.get(nxt, nxt))
            i += 2
        elif ch == quote and text[i + 1 : i + 2] == quote:
            out.append(quote)
            i += 2
        elif ch == quote:
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    hint = f"close it with {quote}; write {quote}{quote} for a {quote} inside it"
    raise _error("unterminated quoted text", start, text[start:], hint)


def _read_word(text: str, start: int) -> tuple[_Token, int]:
    """A bare word, or a prefix followed by a quoted key (``params.`a b```, ``metrics."x".max``)."""
    match = _WORD_RE.match(text, start)
    assert match is not None
    end = match.end()
    word = match.group()
    if not (word.endswith(".") and text[end : end + 1] in ("`", '"')):
        return _Token("word", word, start), end
    key, end = _read_quoted(text, end)
    suffix = None
    after = _WORD_RE.match(text, end + 1) if text[end : end + 1] == "." else None
    if after is not None:
        suffix, end = after.group(), after.end()
    return _Token("qfield", text[start:end], start, parts=(word[:-1], key, suffix)), end


def _next_token(text: str, i: int) -> tuple[_Token, int]:
    ch = text[i]
    if ch in "(),":
        return _Token(ch, ch, i), i + 1
    two = text[i : i + 2]
    if two in ("<=", ">=", "!=", "<>"):
        return _Token("op", "!=" if two == "<>" else two, i), i + 2
    if ch in "=<>":
        return _Token("op", ch, i), i + 1
    if ch in "'\"`":
        value, end = _read_quoted(text, i)
        return _Token("bq" if ch == "`" else "str", text[i:end], i, value), end
    number = _NUMBER_RE.match(text, i)
    if number is not None:
        raw = number.group()
        num: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
        if isinstance(num, int) and num not in _INT64:
            num = float(num)  # beyond what a database integer holds
        return _Token("num", raw, i, num), number.end()
    if _WORD_RE.match(text, i) is not None:
        return _read_word(text, i)
    hint = "a filter holds fields, operators, quoted text, numbers, parentheses and commas"
    raise _error(f"unexpected character {ch!r}", i, ch, hint)


def _tokenize(text: str, offset: int = 0) -> list[_Token]:
    tokens, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        token, i = _next_token(text, i)
        tokens.append(token)
    tokens.append(_Token("eof", "", len(text)))
    if offset:
        tokens = [_Token(t.kind, t.text, t.pos + offset, t.value, t.parts) for t in tokens]
    return tokens


# -- fields and values ------------------------------------------------------------------------
def _field_from_parts(tok: _Token, prefix: str, key: str, suffix: str | None) -> Field:
    kind = _PREFIXES.get(prefix.lower())
    if kind is None:
        raise _error(f"unknown field '{tok.text}'", tok.pos, tok.text, FIELD_HINT)
    if not key:
        raise _error(f"missing key after '{prefix}.'", tok.pos, tok.text, FIELD_HINT)
    if kind == "attr":
        if key.lower() not in ATTRIBUTES or suffix is not None:
            hint = "attributes are " + ", ".join(sorted(ATTRIBUTES))
            raise _error(f"unknown attribute '{tok.text}'", tok.pos, tok.text, hint)
        return Field("attr", key.lower())
    if kind == "metric":
        agg = "last" if suffix is None else suffix.lower()
        if agg in METRIC_AGGREGATES:
            return Field("metric", key, agg)
        hint = "a metric may end with .last, .min or .max"
    else:
        if suffix is None:
            return Field(kind, key)
        hint = "quote the whole key, e.g. params.`a.b`"
    raise _error(f"unexpected suffix '.{suffix}'", tok.pos, tok.text, hint)


def _field_from_token(tok: _Token) -> Field:
    if tok.kind == "qfield":
        return _field_from_parts(tok, *tok.parts)
    if tok.kind != "word" or tok.text.upper() in _KEYWORDS:
        raise _unexpected(tok, "expected a field; " + FIELD_HINT)
    if "." not in tok.text:
        if tok.text.lower() in ATTRIBUTES:
            return Field("attr", tok.text.lower())
        raise _error(f"unknown field '{tok.text}'", tok.pos, tok.text, FIELD_HINT)
    prefix, _, rest = tok.text.partition(".")
    if _PREFIXES.get(prefix.lower()) == "metric":
        head, dot, last = rest.rpartition(".")
        if dot and head and last.lower() in METRIC_AGGREGATES:
            return _field_from_parts(tok, prefix, head, last)
    return _field_from_parts(tok, prefix, rest, None)


def _unexpected(tok: _Token, hint: str) -> FilterSyntaxError:
    if tok.kind == "eof":
        return _error("unexpected end of filter", tok.pos, "", hint)
    shown = f"'{tok.text}'" if "'" not in tok.text else f'"{tok.text}"'
    return _error(f"unexpected token {shown}", tok.pos, tok.text, hint)


def _iso_to_ms(tok: _Token, text: str) -> int:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        hint = "use epoch milliseconds or ISO-8601 such as '2026-01-01' or '2026-01-01T10:00:00Z'"
        raise _error(f"invalid time {tok.text}", tok.pos, tok.text, hint) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _type_error(field: Field, tok: _Token, expected: str) -> FilterSyntaxError:
    hint = f"{field} compares with {expected}"
    return _error(f"invalid value {tok.text} for {field}", tok.pos, tok.text, hint)


def _coerce(field: Field, value: Scalar, tok: _Token) -> Scalar:
    """Check a literal against its field and normalise it (times to ms, statuses to upper case)."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if field.kind == "param":
        return value
    if field.kind == "tag" or field.key in _TEXT_ATTRS - {"status"}:
        if isinstance(value, str):
            return value
        raise _type_error(field, tok, f"quoted text, e.g. {field} = 'x'")
    if field.kind == "metric" or field.key == "duration":
        if is_number:
            return value
        raise _type_error(field, tok, "numbers")
    if field.key in _TIME_ATTRS:
        if isinstance(value, str):
            return _iso_to_ms(tok, value)
        if is_number and math.isfinite(float(value)) and int(value) in _INT64:
            return int(value)
        raise _type_error(field, tok, "epoch milliseconds or an ISO-8601 time")
    statuses = {s.value for s in RunStatus}
    if isinstance(value, str) and value.upper() in statuses:
        return value.upper()
    raise _type_error(field, tok, "one of " + ", ".join(sorted(statuses)))


# -- the parser -------------------------------------------------------------------------------
class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def keyword(self, *words: str) -> bool:
        """Consume the current token when it is one of ``words`` (case-insensitive)."""
        if self.tok.kind == "word" and self.tok.text.upper() in words:
            self.i += 1
            return True
        return False

    def expect(self, kind: str, hint: str) -> _Token:
        if self.tok.kind != kind:
            raise _unexpected(self.tok, hint)
        return self.take()

    def parse_or(self) -> Expr:
        items = [self.parse_and()]
        while self.keyword("OR"):
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Expr:
        items = [self.parse_not()]
        while self.keyword("AND"):
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_not(self) -> Expr:
        if self.tok.kind == "(" or self.tok.text.upper() == "NOT":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                hint = f"use at most {MAX_DEPTH} nested parentheses or NOTs"
                raise _error("filter nests too deeply", self.tok.pos, self.tok.text, hint)
        if self.keyword("NOT"):
            inner: Expr = Not(self.parse_not())
        elif self.tok.kind == "(":
            self.take()
            inner = self.parse_or()
            self.expect(")", "expected ')' to close the '(' or AND/OR to continue")
        else:
            return self.parse_comparison()
        self.depth -= 1
        return inner

    def parse_comparison(self) -> Expr:
        field = _field_from_token(self.take())
        if self.tok.kind == "op":
            return self.parse_operator(field)
        if self.keyword("IS"):
            negate = self.keyword("NOT")
            if not self.keyword("NULL"):
                raise _unexpected(self.tok, "write IS NULL or IS NOT NULL")
            return IsNull(field, negate)
        negate = self.keyword("NOT")
        if self.keyword("IN"):
            return In(field, self.parse_list(field), negate)
        if self.tok.kind == "word" and self.tok.text.upper() in ("LIKE", "ILIKE"):
            return self.parse_like(field, negate)
        hint = (
            f"expected an operator after '{field}': =, !=, <, <=, >, >=, IN, LIKE, ILIKE, IS NULL"
        )
        raise _unexpected(self.tok, hint)

    def parse_operator(self, field: Field) -> Expr:
        op_tok = self.take()
        op, tok = op_tok.text, self.tok
        if field == Field("attr", "status") and op not in ("=", "!="):
            raise _unexpected(op_tok, "status supports =, !=, IN and LIKE")
        value = self.parse_value(f"expected a value after '{op}'")
        if value is None:
            if op not in ("=", "!="):
                raise _unexpected(tok, f"only = null and != null make sense, not {op} null")
            return IsNull(field, negate=op == "!=")
        return Compare(field, op, _coerce(field, value, tok))

    def parse_value(self, hint: str) -> Scalar | None:
        tok = self.take()
        if tok.kind in ("str", "num"):
            return tok.value
        if tok.kind == "word" and tok.text.upper() in ("TRUE", "FALSE", "NULL"):
            return {"TRUE": True, "FALSE": False, "NULL": None}[tok.text.upper()]
        raise _unexpected(tok, hint)

    def parse_list(self, field: Field) -> tuple[Scalar, ...]:
        self.expect("(", "IN takes a list in parentheses, e.g. IN ('a', 'b')")
        values: list[Scalar] = []
        while True:
            tok = self.tok
            value = self.parse_value("expected a value in the IN list")
            if value is None:
                raise _unexpected(tok, "use IS NULL to match missing values, not IN (null)")
            values.append(_coerce(field, value, tok))
            if self.take().kind == ")":
                return tuple(values)
            if self.tokens[self.i - 1].kind != ",":
                raise _unexpected(self.tokens[self.i - 1], "expected ',' or ')' in the IN list")

    def parse_like(self, field: Field, negate: bool) -> Like:
        insensitive = self.take().text.upper() == "ILIKE"
        tok = self.expect("str", "LIKE takes a quoted pattern, e.g. LIKE 'bert-%'")
        if field.kind == "metric" or field.key in (_TIME_ATTRS | {"duration"}):
            raise _error(f"LIKE does not apply to {field}", tok.pos, tok.text, "compare numbers")
        return Like(field, str(tok.value), insensitive, negate)


def parse_filter(text: str) -> Expr | None:
    """Parse a filter expression; ``None`` for an empty (or blank) filter.

    Raises :class:`FilterSyntaxError` naming the position and the token that could not be parsed.

    >>> parse_filter("status = 'finished' AND metrics.loss.min < 0.1")
    """
    if not text or not text.strip():
        return None
    if "\x00" in text:
        pos = text.index("\x00")
        raise _error("NUL character", pos, "\x00", "remove the NUL character from the filter")
    parser = _Parser(_tokenize(text))
    expr = parser.parse_or()
    if parser.tok.kind != "eof":
        raise _unexpected(parser.tok, "expected AND, OR or the end of the filter")
    return expr


def parse_order_term(term: str) -> OrderTerm:
    """Parse one order term: ``-metrics.acc``, ``metrics.acc DESC``, ``params.lr ASC``, ``name``."""
    stripped = term.lstrip()
    offset = len(term) - len(stripped)
    sign = stripped[:1] if stripped[:1] in ("-", "+") else ""
    parser = _Parser(_tokenize(stripped[len(sign) :], offset + len(sign)))
    if parser.tok.kind == "eof":
        hint = "write e.g. '-metrics.acc' or 'name ASC'"
        raise _error("empty order term", offset, stripped.strip(), hint)
    field = _field_from_token(parser.take())
    descending = sign == "-"
    if not sign and parser.tok.kind == "word" and parser.tok.text.upper() in ("ASC", "DESC"):
        descending = parser.take().text.upper() == "DESC"
    if parser.tok.kind != "eof":
        hint = "an order term is a field, optionally prefixed by '-' or followed by ASC or DESC"
        raise _unexpected(parser.tok, hint)
    return OrderTerm(field, descending)


def parse_order_by(terms: Sequence[str]) -> list[OrderTerm]:
    """Parse order terms (see :func:`parse_order_term`). Raises :class:`FilterSyntaxError`."""
    if isinstance(terms, str):
        terms = [terms]
    return [parse_order_term(term) for term in terms]
