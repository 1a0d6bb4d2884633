"""Run search for the SQL store: the filter AST compiled into parameterized SQL, keyset paging.

Every literal of a filter travels as a bound parameter; keys, too, are bound values (never
identifiers), so no text of the filter is ever pasted into SQL.

Semantics:

* a condition on a param, tag or metric holds only when the run has that key (a correlated
  ``EXISTS`` on the key's primary-key row); ``NOT (...)`` negates the whole condition, so
  ``NOT params.opt = 'adam'`` also matches runs without ``opt``;
* params compare on their number (``value_num``) when the literal is a number, and on their text
  (``value_text``, where a bool param reads ``true``/``false``) otherwise; ``IS NULL`` is true
  when the value is missing (or a ``None`` param, or a NaN metric aggregate);
* ``LIKE`` is case-sensitive on every backend (SQLite's ``LIKE`` is not, so it becomes ``GLOB``);
* ordering puts missing values last in both directions, and ends with ``runs.id`` so that the
  order is total and keyset paging never skips or repeats a run.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    and_,
    case,
    exists,
    false,
    not_,
    null,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from shipyard.domain.entities import Page, Run
from shipyard.domain.filter import (
    And,
    Compare,
    Expr,
    Field,
    In,
    IsNull,
    Like,
    Not,
    Or,
    OrderTerm,
    Scalar,
    parse_filter,
    parse_order_by,
)
from shipyard.errors import InvalidArgument, NotFound
from shipyard.store.base import SearchQuery
from shipyard.store.sql._load import load_runs
from shipyard.store.sql.models import MetricSummaryRow, ParamRow, ProjectRow, RunRow, TagRow

MAX_LIMIT = 10_000
DEFAULT_ORDER = (OrderTerm(Field("attr", "start_time"), descending=True),)
_TOKEN_HINT = "pass the previous page's next_page_token unchanged, or none for the first page"  # noqa: S105
_OPS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ATTR_COLUMNS: dict[str, SQLColumnExpression[Any]] = {
    "status": RunRow.status,
    "name": RunRow.name,
    "user": RunRow.user,
    "start_time": RunRow.start_time,
    "end_time": RunRow.end_time,
    "id": RunRow.id,
    "parent_id": RunRow.parent_id,
}
_NULLABLE_ATTRS = frozenset({"end_time", "parent_id", "duration"})
_GLOB_SPECIALS = frozenset("*?[]")
_KEY_TABLES: dict[str, type[ParamRow] | type[TagRow] | type[MetricSummaryRow]] = {
    "param": ParamRow,
    "tag": TagRow,
    "metric": MetricSummaryRow,
}

Leaf = Compare | In | Like | IsNull


def search_runs(session: Session, query: SearchQuery) -> Page[Run]:
    """Filter, order and page the runs of ``query.project`` (every project when ``None``).

    Raises ``FilterSyntaxError`` for a bad filter or order term, ``InvalidArgument`` for a bad
    limit or page token, and ``NotFound`` for an unknown project.
    """
    if not isinstance(query.limit, int) or not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidArgument(
            f"limit must be an integer from 1 to {MAX_LIMIT}, not {query.limit!r}",
            hint="page through larger results with next_page_token",
        )
    expr = parse_filter(query.filter)
    terms = parse_order_by(query.order_by) or list(DEFAULT_ORDER)
    plan = _SortPlan.build(terms, byte_order=_dialect(session) != "sqlite")
    fingerprint = _fingerprint(query, expr, terms)
    stmt = plan.statement(_where(session, query, expr), query.limit + 1)
    if query.page_token is not None:
        after = _decode_token(query.page_token, fingerprint, plan.columns)
        stmt = stmt.where(plan.after(after))
    rows = session.execute(stmt).all()
    page_rows = rows[: query.limit]
    runs = load_runs(session, [str(row[-1]) for row in page_rows])
    token = None
    if len(rows) > query.limit:
        token = _encode_token(fingerprint, list(page_rows[-1]))
    return Page(items=runs, next_page_token=token)


def _where(session: Session, query: SearchQuery, expr: Expr | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.project is not None:
        conditions.append(RunRow.project_id == _project_id(session, query.project))
    if query.projects is not None:
        visible = select(ProjectRow.id).where(ProjectRow.name.in_(list(query.projects)))
        conditions.append(RunRow.project_id.in_(visible))
    if not query.include_deleted:
        conditions.append(RunRow.deleted == false())
    if expr is not None:
        conditions.append(_Compiler(_dialect(session)).compile(expr))
    return conditions


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _project_id(session: Session, name: str) -> str:
    project_id = session.scalar(select(ProjectRow.id).where(ProjectRow.name == name))
    if project_id is None:
        raise NotFound(
            f"project {name!r} not found",
            hint="check the name, or search every project with project=None",
        )
    return project_id


# -- the filter -------------------------------------------------------------------------------
class _Compiler:
    """Turns a filter AST into one boolean SQL expression (every literal a bound parameter)."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"

    def compile(self, expr: Expr) -> ColumnElement[bool]:
        """The SQL condition for ``expr``."""
        if isinstance(expr, And):
            return and_(*(self.compile(item) for item in expr.items))
        if isinstance(expr, Or):
            return or_(*(self.compile(item) for item in expr.items))
        if isinstance(expr, Not):
            return not_(self.compile(expr.item))
        return self.leaf(expr)

    def leaf(self, node: Leaf) -> ColumnElement[bool]:
        field = node.field
        if field.kind == "attr":
            return self.attribute(node, _attr_column(field.key))
        if isinstance(node, IsNull):
            present = _key_exists(field, _has_value(field))
            return present if node.negate else not_(present)
        return _key_exists(field, self.predicate(node, _value_of(field)))

    def attribute(self, node: Leaf, column: SQLColumnExpression[Any]) -> ColumnElement[bool]:
        if isinstance(node, IsNull):
            return column.is_not(None) if node.negate else column.is_(None)
        condition = self.predicate(node, column)
        if node.field.key in _NULLABLE_ATTRS:
            # keeps the condition two-valued, so NOT (end_time > x) also matches running runs
            return and_(column.is_not(None), condition)
        return condition

    def predicate(self, node: Leaf, column: SQLColumnExpression[Any]) -> ColumnElement[bool]:
        """The condition on one value column; params pick theirs by the literal's type."""
        if isinstance(node, Compare):
            typed = _typed(node.field, node.value, column)
            if isinstance(node.value, str) and node.op not in ("=", "!=") and not self.sqlite:
                typed = typed.collate("C")  # text ranges in byte order, as SQLite compares
            return _OPS[node.op](typed, _bind(node.value))
        if isinstance(node, In):
            matched = or_(*(self.equals(node.field, value, column) for value in node.values))
            return not_(matched) if node.negate else matched
        assert isinstance(node, Like)
        text = ParamRow.value_text if node.field.kind == "param" else column
        if node.case_insensitive:
            matched = text.ilike(node.pattern, escape="\\")
        elif self.sqlite:
            matched = text.op("GLOB")(_like_to_glob(node.pattern))
        else:
            matched = text.like(node.pattern, escape="\\")
        return not_(matched) if node.negate else matched

    @staticmethod
    def equals(
        field: Field, value: Scalar, column: SQLColumnExpression[Any]
    ) -> ColumnElement[bool]:
        """``column = value``, never NULL: a NULL here would make ``NOT IN`` drop the row."""
        typed = _typed(field, value, column)
        return and_(typed.is_not(None), typed == _bind(value))


def _attr_column(key: str) -> SQLColumnExpression[Any]:
    if key == "duration":
        return RunRow.end_time - RunRow.start_time
    return _ATTR_COLUMNS[key]


def _key_exists(field: Field, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """``EXISTS`` the run's row for this param/tag/metric key, with ``condition`` on it."""
    table = _KEY_TABLES[field.kind]
    return exists().where(table.run_id == RunRow.id, table.key == field.key, condition)


def _value_of(field: Field) -> SQLColumnExpression[Any]:
    if field.kind == "param":
        return ParamRow.value_num
    if field.kind == "tag":
        return TagRow.value
    return _metric_value(MetricSummaryRow, field.agg)


def _has_value(field: Field) -> ColumnElement[bool]:
    """Whether the key's row holds a value: a ``None`` param or a NaN aggregate counts as NULL."""
    if field.kind == "param":
        return ParamRow.value_json != "null"
    return _value_of(field).is_not(None)


def _typed(
    field: Field, value: Scalar, column: SQLColumnExpression[Any]
) -> SQLColumnExpression[Any]:
    """Params compare on their number for a number literal, else on their text (see ``_load``)."""
    if field.kind == "param" and isinstance(value, str | bool):
        return ParamRow.value_text
    return column


def _bind(value: Scalar) -> Scalar:
    """The bound value: a bool matches a bool param's text, ``'true'`` or ``'false'``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _like_to_glob(pattern: str) -> str:
    """A LIKE pattern (``%``, ``_``, ``\\`` escape) as the equivalent case-sensitive GLOB."""
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            ch = next(chars, "\\")
            out.append(f"[{ch}]" if ch in _GLOB_SPECIALS else ch)
        elif ch in "%_":
            out.append("*" if ch == "%" else "?")
        else:
            out.append(f"[{ch}]" if ch in _GLOB_SPECIALS else ch)
    return "".join(out)


# -- ordering and keyset paging ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _SortColumn:
    expr: SQLColumnExpression[Any]
    descending: bool
    nullable: bool
    kind: type  # what a page token must hold for it: int, float or str


@dataclass(frozen=True, slots=True)
class _SortPlan:
    columns: tuple[_SortColumn, ...]
    joins: tuple[tuple[Any, ColumnElement[bool]], ...]

    @classmethod
    def build(cls, terms: Sequence[OrderTerm], *, byte_order: bool) -> _SortPlan:
        """Sort columns for ``terms``; ``byte_order`` sorts text by code point (``COLLATE "C"``,
        for PostgreSQL, so that every backend orders text the same way)."""
        columns: list[_SortColumn] = []
        joins: list[tuple[Any, ColumnElement[bool]]] = []
        for term in terms:
            for col in _term_columns(term, joins):
                if byte_order and col.kind is str:
                    col = _SortColumn(col.expr.collate("C"), col.descending, col.nullable, str)
                columns.append(col)
        # runs.id makes the order total; it follows the direction of the last term
        columns.append(_SortColumn(RunRow.id, terms[-1].descending, False, str))
        return cls(tuple(columns), tuple(joins))

    def statement(self, where: list[ColumnElement[bool]], limit: int) -> Select[Any]:
        stmt = select(*(col.expr for col in self.columns)).select_from(RunRow)
        for target, onclause in self.joins:
            stmt = stmt.outerjoin(target, onclause)
        return stmt.where(*where).order_by(*map(_order_clause, self.columns)).limit(limit)

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly after the row whose sort values are ``values`` (NULLs last)."""
        clauses: list[ColumnElement[bool]] = []
        equal: list[ColumnElement[bool]] = []
        for col, value in zip(self.columns, values, strict=True):
            if value is not None:
                beyond = col.expr < value if col.descending else col.expr > value
                if col.nullable:
                    beyond = or_(beyond, col.expr.is_(None))
                clauses.append(and_(*equal, beyond))
            equal.append(col.expr.is_(None) if value is None else col.expr == value)
        return or_(*clauses) if clauses else false()


def _term_columns(
    term: OrderTerm, joins: list[tuple[Any, ColumnElement[bool]]]
) -> list[_SortColumn]:
    field, desc = term.field, term.descending
    if field.kind == "attr":
        kind = str if field.key in ("status", "name", "user", "id", "parent_id") else int
        return [_SortColumn(_attr_column(field.key), desc, field.key in _NULLABLE_ATTRS, kind)]
    if field.kind == "param":
        param = aliased(ParamRow)
        joins.append((param, and_(param.run_id == RunRow.id, param.key == field.key)))
        # numbers first (numerically), then text params, then runs without the param
        return [
            _SortColumn(param.value_num, desc, True, float),
            _SortColumn(_param_text(param), desc, True, str),
        ]
    if field.kind == "tag":
        tag = aliased(TagRow)
        joins.append((tag, and_(tag.run_id == RunRow.id, tag.key == field.key)))
        return [_SortColumn(tag.value, desc, True, str)]
    metric = aliased(MetricSummaryRow)
    joins.append((metric, and_(metric.run_id == RunRow.id, metric.key == field.key)))
    return [_SortColumn(_metric_value(metric, field.agg), desc, True, float)]


def _param_text(param: type[ParamRow]) -> SQLColumnExpression[Any]:
    """The param's text, NULL for a ``None`` param (so that it sorts with the missing ones)."""
    return case((param.value_json == "null", null()), else_=param.value_text)


def _metric_value(table: type[MetricSummaryRow], agg: str | None) -> SQLColumnExpression[Any]:
    if agg == "min":
        return table.min_value
    return table.max_value if agg == "max" else table.last_value


def _order_clause(col: _SortColumn) -> SQLColumnExpression[Any]:
    clause = col.expr.desc() if col.descending else col.expr.asc()
    return clause.nulls_last() if col.nullable else clause


def _fingerprint(query: SearchQuery, expr: Expr | None, terms: Sequence[OrderTerm]) -> str:
    projects = None if query.projects is None else sorted(query.projects)
    identity = repr((query.project, expr, tuple(terms), query.include_deleted))
    if projects is not None:
        identity += repr(projects)
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def _encode_token(fingerprint: str, values: list[Any]) -> str:
    data = json.dumps({"f": fingerprint, "k": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).rstrip(b"=").decode("ascii")


def _decode_token(token: str, fingerprint: str, columns: Sequence[_SortColumn]) -> list[Any]:
    """The sort values a page token holds, checked against this search and its columns."""
    invalid = InvalidArgument(f"invalid page token {token[:40]!r}", hint=_TOKEN_HINT)
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise invalid from None
    if not isinstance(data, dict) or not isinstance(data.get("k"), list):
        raise invalid
    if data.get("f") != fingerprint:
        raise InvalidArgument(
            "page token belongs to another search (its filter, order or project differ)",
            hint=_TOKEN_HINT,
        )
    values: list[Any] = data["k"]
    if len(values) != len(columns) or not all(map(_fits, values, columns)):
        raise invalid
    return values


def _fits(value: object, col: _SortColumn) -> bool:
    if value is None:
        return col.nullable
    if isinstance(value, bool):
        return False
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return False  # out of BIGINT's range: PostgreSQL would refuse the comparison
    if col.kind is float:
        return isinstance(value, int | float)
    if isinstance(value, str) and "\x00" in value:
        return False  # no stored text holds NUL (PostgreSQL refuses it)
    return isinstance(value, col.kind)
