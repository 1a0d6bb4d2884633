"""A small Jupyter notebook (nbformat 4) reader for previews: cells and their displayable outputs.

Markdown cells are rendered by :func:`render_markdown` (raw HTML escaped); code cells keep their
source and their ``text/plain``, ``image/png``/``image/jpeg``, stream and error outputs. Rich HTML
and JavaScript outputs are never shown as such (they could run code in the hub): their plain-text
form is shown instead when the notebook has one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from shipyard.errors import InvalidArgument
from shipyard.server.ui._markdown import Resolver, render_markdown

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")


@dataclass(frozen=True, slots=True)
class Output:
    """One displayable output: ``kind`` is ``text``, ``stream``, ``error`` or ``image``."""

    kind: str
    text: str = ""
    image_src: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class Cell:
    """A notebook cell: ``markdown`` (with ``html``), ``code`` (with outputs) or ``raw``."""

    kind: str
    source: str
    html: Markup = field(default_factory=Markup)
    execution_count: int | None = None
    outputs: tuple[Output, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Notebook:
    """The cells of a notebook and its kernel's language."""

    language: str
    cells: tuple[Cell, ...]


def parse_notebook(data: bytes, resolve: Resolver | None = None) -> Notebook:
    """Read a notebook's bytes. Raises ``InvalidArgument`` when they are not a notebook."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise InvalidArgument(
            f"notebook is {len(data)} bytes, more than {MAX_NOTEBOOK_BYTES} can be previewed",
            hint="download it and open it in Jupyter",
        )
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"not a Jupyter notebook: {exc}", hint="check the file") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cells"), list):
        raise InvalidArgument(
            "not a Jupyter notebook: no 'cells' list", hint="only nbformat 4 notebooks preview"
        )
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    language = str(
        _get(meta, "language_info", "name") or _get(meta, "kernelspec", "language") or ""
    )
    cells = tuple(_cell(c, resolve) for c in doc["cells"] if isinstance(c, dict))
    return Notebook(language, cells)


def _cell(cell: Mapping[str, Any], resolve: Resolver | None) -> Cell:
    kind = str(cell.get("cell_type", "raw"))
    source = _text(cell.get("source"))
    if kind == "markdown":
        return Cell("markdown", source, html=render_markdown(source, resolve))
    if kind != "code":
        return Cell("raw", source)
    count = cell.get("execution_count")
    outputs = tuple(_outputs(cell.get("outputs")))
    return Cell("code", source, execution_count=count if isinstance(count, int) else None,
                outputs=outputs)  # fmt: skip


def _outputs(outputs: object) -> Iterator[Output]:
    if not isinstance(outputs, list):
        return
    for out in outputs:
        if not isinstance(out, dict):
            continue
        kind = out.get("output_type")
        if kind == "stream":
            yield Output("stream", _strip_ansi(_text(out.get("text"))), name=str(out.get("name")))
        elif kind == "error":
            lines = out.get("traceback")
            text = "\n".join(map(str, lines)) if isinstance(lines, list) else ""
            summary = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
            yield Output("error", _strip_ansi(text) or summary)
        elif kind in ("execute_result", "display_data"):
            shown = _rich(out.get("data"))
            if shown is not None:
                yield shown


def _rich(data: object) -> Output | None:
    if not isinstance(data, dict):
        return None
    for media_type in _IMAGE_TYPES:
        encoded = "".join(_text(data.get(media_type)).split())
        if encoded and _BASE64.match(encoded):
            return Output("image", image_src=f"data:{media_type};base64,{encoded}")
    if "text/plain" in data:
        return Output("text", _strip_ansi(_text(data["text/plain"])))
    return None


def _text(value: object) -> str:
    """Notebook text fields are a string or a list of lines."""
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def _get(data: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
