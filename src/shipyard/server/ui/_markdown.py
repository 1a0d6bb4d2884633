"""Markdown to safe HTML with markdown-it-py: raw HTML is escaped, never passed through.

Links keep markdown-it's checks (no ``javascript:``, ``vbscript:``, ``file:`` or non-image
``data:`` URLs). Images never load from another origin: an image whose source is not a same-origin
path or an inline ``data:image`` becomes a plain link, so rendering notes can never make the
browser contact a third party. A :data:`Resolver` maps relative image paths (an artifact's
sibling files) to URLs of this server.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any
from urllib.parse import quote

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from markdown_it.utils import OptionsDict
from markupsafe import Markup

from shipyard.api import routes

Resolver = Callable[[str], str | None]
"""Maps a relative image source to a same-origin URL, or ``None`` to leave it a link."""


def _make_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("image", _render_image)
    md.add_render_rule("link_open", _render_link_open)
    return md


def _render_image(
    self: Any,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: MutableMapping[str, Any],
) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    local = _local_source(src, env.get("resolve"))
    if local is None:
        alt = self.renderInlineAsText(token.children or [], options, env) or src
        return f'<a href="{escapeHtml(src)}" rel="noopener noreferrer">{escapeHtml(alt)}</a>'
    token.attrSet("src", local)
    token.attrSet("loading", "lazy")
    return str(self.image(tokens, idx, options, env))


def _render_link_open(
    self: Any,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: MutableMapping[str, Any],
) -> str:
    tokens[idx].attrSet("rel", "noopener noreferrer")
    return str(self.renderToken(tokens, idx, options, env))


def _local_source(src: str, resolve: Resolver | None) -> str | None:
    """A source the browser may load without leaving this origin, or ``None``."""
    lowered = src.strip().lower()
    if lowered.startswith("data:image/"):
        return src
    if src.startswith("/") and not src.startswith("//"):
        return src
    if ":" in src.split("/", 1)[0] or src.startswith("//"):
        return None  # another scheme or another host
    return resolve(src) if resolve is not None else None


_PARSER = _make_parser()


def render_markdown(text: str, resolve: Resolver | None = None) -> Markup:
    """Render Markdown to HTML that is safe to insert into a page.

    >>> str(render_markdown("**hi** <b>x</b>"))
    '<p><strong>hi</strong> &lt;b&gt;x&lt;/b&gt;</p>\\n'
    """
    return Markup(_PARSER.render(text, {"resolve": resolve}))  # noqa: S704  # raw HTML disabled


def artifact_resolver(run_id: str, markdown_path: str) -> Resolver:
    """Resolve image paths relative to an artifact to that run's artifact content URLs."""
    folder = posixpath.dirname(markdown_path)

    def resolve(src: str) -> str | None:
        path = src.split("#", 1)[0].split("?", 1)[0]
        joined = posixpath.normpath(posixpath.join(folder, path))
        if not path or joined.startswith("..") or joined.startswith("/"):
            return None
        content = routes.url(routes.RUN_ARTIFACT_CONTENT, run_id=run_id)
        return f"{content}?path={quote(joined, safe='')}"

    return resolve
