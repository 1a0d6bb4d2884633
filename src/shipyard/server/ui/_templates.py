"""The Jinja2 environment of the hub (autoescaped), its filters, and HTML responses.

Every page is sent with a Content-Security-Policy that allows this origin only: no third-party
script, style, image, font or connection can load, and no inline script runs. Plotly's WebGL
traces compile shaders with ``new Function``, hence ``'unsafe-eval'``; its injected styles need
``'unsafe-inline'`` for styles (never for scripts).
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from shipyard.domain.entities import ParamValue
from shipyard.errors import ShipyardError
from shipyard.server.auth.sessions import auth_context

UI_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = UI_DIR / "templates"
STATIC_DIR = UI_DIR / "static"
STATIC_PREFIX = "/static/ui"
PLOTLY_URL = "/static/vendor/plotly.min.js"


def _plotly_js() -> Path:
    """plotly.min.js inside the installed ``plotly`` package (found without importing it)."""
    spec = find_spec("plotly")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    if not folders:
        raise ShipyardError("the plotly package is missing", hint="pip install plotly")
    return Path(folders[0]) / "package_data" / "plotly.min.js"


PLOTLY_JS = _plotly_js()
PLOTLY_VERSION = version("plotly")

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                 0x2028: "\\u2028", 0x2029: "\\u2029"}  # fmt: skip


@cache
def assets_version() -> str:
    """A short hash of the UI's static files, appended to their URLs to bust caches."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(STATIC_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def assets_prefix() -> str:
    """Where the UI's own static files are served: a path naming their version, so that they
    can be cached for good (module scripts import each other by relative URLs, which stay
    inside the versioned folder)."""
    return f"{STATIC_PREFIX}/{assets_version()}"


def static_url(path: str) -> str:
    """URL of one of the UI's own static files."""
    return f"{assets_prefix()}/{path}"


def ms_iso(ms: int | None) -> str:
    """ISO-8601 UTC text of epoch milliseconds (``""`` for none)."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def ms_text(ms: int | None) -> str:
    """Human UTC text of epoch milliseconds: ``2025-01-31 14:05:09 UTC`` (``—`` for none)."""
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(ms: int | None) -> str:
    """``2h 03m``, ``4m 05s``, ``12.3s``, ``450 ms`` (``—`` for none)."""
    if ms is None or ms < 0:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours:02d}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {sec:02d}s"


def number(value: float | int | None) -> str:
    """A metric value with up to 6 significant digits (``NaN``, ``∞`` as such)."""
    if value is None:
        return "—"
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:.6g}"


def param_text(value: ParamValue) -> str:
    """A param as people write it: text as is, ``true``/``false``/``null``, numbers."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return number(value)
    return json.dumps(value)


def filesize(size: int) -> str:
    """``532 B``, ``1.2 KB``, ``3.4 MB``..."""
    amount = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if amount < 1024 or unit == "TB":
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{size} B"


def json_script(data: Any) -> Markup:
    """JSON to put inside ``<script type="application/json">`` (``<``, ``>``, ``&`` escaped)."""
    text = data if isinstance(data, str) else json.dumps(data, allow_nan=False)
    return Markup(text.translate(_JSON_ESCAPES))  # noqa: S704  # no '<' survives


def _make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        ms_iso=ms_iso,
        ms_text=ms_text,
        duration=duration,
        number=number,
        param=param_text,
        filesize=filesize,
        json_script=json_script,
    )
    env.globals.update(
        static_url=static_url,
        plotly_url=f"{PLOTLY_URL}?v={PLOTLY_VERSION}",
        auth_context=auth_context,
    )
    return env


ENVIRONMENT = _make_environment()


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page template into an HTML response with the hub's security headers."""
    context.setdefault("nav", "")
    html = ENVIRONMENT.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


def render_fragment(template: str, **context: Any) -> Markup:
    """Render a partial template (e.g. a notebook) to safe HTML."""
    return Markup(ENVIRONMENT.get_template(template).render(**context))  # noqa: S704  # autoescaped
