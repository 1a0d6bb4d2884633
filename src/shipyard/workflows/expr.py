"""Gate expressions: a tiny, safe expression language (never ``eval``).

Grammar::

    expr    := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum     := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | "true" | "false" | REF | "(" expr ")"
    REF     := NAME ("." NAME)+       e.g. evaluate.metrics.accuracy, champion.metrics.loss

A reference whose value is unknown (``None``: no champion yet) makes every comparison it takes
part in pass, so the first model can be promoted.

Example::

    >>> evaluate(parse("a.metrics.acc >= 0.9"), lambda ref: 0.95)
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from shipyard.errors import InvalidArgument

Value = float | bool | None
Resolver = Callable[[tuple[str, ...]], float | None]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<ref>[A-Za-z_](?:[A-Za-z0-9_]|-(?=[A-Za-z_]))*"
    r"(?:\.[A-Za-z_](?:[A-Za-z0-9_]|-(?=[A-Za-z_]))*)*)"
    r"|(?P<op><=|>=|==|!=|<|>|\+|-|\*|/|\(|\)))"
)
_COMPARE = ("<", "<=", ">", ">=", "==", "!=")
_WORDS = ("and", "or", "not", "true", "false")


@dataclass(frozen=True, slots=True)
class Num:
    """A number or boolean literal."""

    value: float | bool


@dataclass(frozen=True, slots=True)
class Ref:
    """A dotted reference such as ``evaluate.metrics.accuracy``."""

    parts: tuple[str, ...]

    def __str__(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Op:
    """An operator applied to one (``not``, unary ``-``) or two operands."""

    op: str
    args: tuple[Node, ...]


Node = Num | Ref | Op


class ExprError(InvalidArgument):
    """A gate expression is not valid; ``column`` is the 1-based position of the problem."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(
            message,
            hint="write e.g. 'evaluate.metrics.accuracy >= 0.9 and not params.dry_run'",
        )
        self.column = column


def parse(text: str) -> Node:
    """Parse ``text`` into an expression tree. Raises :class:`ExprError`."""
    parser = _Parser(text)
    node = parser.expr()
    if parser.peek() is not None:
        raise parser.error(f"unexpected {parser.peek()!r}")
    return node


def refs(node: Node) -> Iterator[Ref]:
    """Every reference in the tree, left to right."""
    if isinstance(node, Ref):
        yield node
    elif isinstance(node, Op):
        for arg in node.args:
            yield from refs(arg)


def evaluate(node: Node, resolve: Resolver) -> Value:
    """The value of the tree; ``resolve`` gives each reference's value (``None``: unknown).

    Raises ``InvalidArgument`` for a division by zero.
    """
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Ref):
        return resolve(node.parts)
    values = [evaluate(arg, resolve) for arg in node.args]
    return _apply(node.op, values)


def _apply(op: str, values: list[Value]) -> Value:
    if op in ("and", "or", "not"):
        truth = [True if v is None else bool(v) for v in values]
        if op == "not":
            return not truth[0]
        return all(truth) if op == "and" else any(truth)
    if any(v is None for v in values):
        return True if op in _COMPARE else None
    a = float(values[0])  # type: ignore[arg-type]
    if op == "neg":
        return -a
    b = float(values[1])  # type: ignore[arg-type]
    return _binary(op, a, b)


def _binary(op: str, a: float, b: float) -> Value:
    if op == "/" and b == 0:
        raise InvalidArgument("division by zero in a gate expression", hint="check the divisor")
    table: dict[str, Callable[[float, float], Value]] = {
        "+": lambda x, y: x + y,
        "-": lambda x, y: x - y,
        "*": lambda x, y: x * y,
        "/": lambda x, y: x / y,
        "<": lambda x, y: x < y,
        "<=": lambda x, y: x <= y,
        ">": lambda x, y: x > y,
        ">=": lambda x, y: x >= y,
        "==": lambda x, y: x == y,
        "!=": lambda x, y: x != y,
    }
    return table[op](a, b)


class _Parser:
    """Recursive descent over the tokens of one expression."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = list(self._tokenize(text))
        self.pos = 0

    def _tokenize(self, text: str) -> Iterator[tuple[str, str, int]]:
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                return
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                start = pos + len(text[pos:]) - len(text[pos:].lstrip())
                raise ExprError(
                    f"unexpected character {text[start]!r} at column {start + 1}", start + 1
                )
            kind = match.lastgroup or "op"
            value, column = match.group(kind), match.start(kind) + 1
            if kind == "ref" and value in _WORDS:
                kind = "word"
            yield kind, value, column
            pos = match.end()

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def error(self, problem: str) -> ExprError:
        column = self.tokens[self.pos][2] if self.pos < len(self.tokens) else len(self.text) + 1
        return ExprError(f"{problem} at column {column} of {self.text!r}", column)

    def take(self, *values: str) -> str | None:
        if self.peek() in values and self.tokens[self.pos][0] in ("op", "word"):
            self.pos += 1
            return self.tokens[self.pos - 1][1]
        return None

    def expr(self) -> Node:
        node = self.and_()
        while self.take("or"):
            node = Op("or", (node, self.and_()))
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.take("and"):
            node = Op("and", (node, self.not_()))
        return node

    def not_(self) -> Node:
        if self.take("not"):
            return Op("not", (self.not_(),))
        node = self.sum()
        op = self.take(*_COMPARE)
        return Op(op, (node, self.sum())) if op else node

    def sum(self) -> Node:
        node = self.term()
        while op := self.take("+", "-"):
            node = Op(op, (node, self.term()))
        return node

    def term(self) -> Node:
        node = self.unary()
        while op := self.take("*", "/"):
            node = Op(op, (node, self.unary()))
        return node

    def unary(self) -> Node:
        if self.take("-"):
            return Op("neg", (self.unary(),))
        return self.atom()

    def atom(self) -> Node:
        if self.pos >= len(self.tokens):
            raise self.error("the expression ends too early")
        kind, value, _ = self.tokens[self.pos]
        if self.take("("):
            node = self.expr()
            if not self.take(")"):
                raise self.error("missing ')'")
            return node
        self.pos += 1
        if kind == "num":
            return Num(float(value))
        if kind == "word" and value in ("true", "false"):
            return Num(value == "true")
        if kind == "ref" and "." in value:
            return Ref(tuple(value.split(".")))
        self.pos -= 1
        if kind == "ref":
            raise self.error(f"{value!r} is not a reference (write job.metrics.name or params.x)")
        raise self.error(f"unexpected {value!r}")
