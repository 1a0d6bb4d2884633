"""The hub's server-side rendering: Markdown stays safe, notebooks keep only displayable output,
and the values pages show are formatted and compared as people expect."""

from __future__ import annotations

import base64
import json

import pytest

from shipyard.domain.entities import MetricSummary, ParamValue, Run, RunStatus
from shipyard.errors import InvalidArgument
from shipyard.server.ui._markdown import artifact_resolver, render_markdown
from shipyard.server.ui._notebook import parse_notebook
from shipyard.server.ui._templates import duration, json_script, number, param_text
from shipyard.server.ui._views import compare_sections, quote_filter_text


def test_markdown_escapes_raw_html_and_keeps_formatting() -> None:
    html = str(render_markdown("**bold** <script>alert(1)</script> <img src=x onerror=alert(1)>"))
    assert "<strong>bold</strong>" in html
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;" in html


def test_markdown_drops_dangerous_links() -> None:
    html = str(render_markdown("[x](javascript:alert(1)) [ok](https://example.org)"))
    assert "href" not in html.split("[x]")[0]
    assert 'href="javascript' not in html
    assert '<a href="https://example.org" rel="noopener noreferrer">ok</a>' in html


def test_markdown_images_never_leave_the_origin() -> None:
    html = str(render_markdown("![chart](https://tracker.example/p.png)"))
    assert "<img" not in html
    assert '<a href="https://tracker.example/p.png"' in html
    inline = str(render_markdown("![dot](data:image/png;base64,iVBORw0KGgo=)"))
    assert '<img src="data:image/png;base64,iVBORw0KGgo="' in inline


def test_markdown_artifact_images_resolve_to_sibling_artifacts() -> None:
    resolve = artifact_resolver("r1", "reports/summary.md")
    html = str(render_markdown("![a](plots/a.png) ![b](../../etc/passwd)", resolve))
    assert 'src="/api/v1/runs/r1/artifacts/content?path=reports%2Fplots%2Fa.png"' in html
    assert '<a href="../../etc/passwd" rel="noopener noreferrer">b</a>' in html  # not an image


def _notebook(cells: list[dict[str, object]]) -> bytes:
    return json.dumps({"nbformat": 4, "metadata": {}, "cells": cells}).encode()


def test_notebook_cells_and_outputs() -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    data = _notebook(
        [
            {"cell_type": "markdown", "source": ["# Title\n", "<b>x</b>"]},
            {
                "cell_type": "code",
                "execution_count": 3,
                "source": "plot()",
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": "\x1b[31mred\x1b[0m\n"},
                    {"output_type": "display_data", "data": {"image/png": png + "\n"}},
                    {
                        "output_type": "execute_result",
                        "data": {"text/html": "<script>x</script>", "text/plain": "<Figure>"},
                    },
                    {"output_type": "display_data", "data": {"application/javascript": "x()"}},
                    {"output_type": "error", "ename": "ValueError", "evalue": "bad"},
                ],
            },
        ]
    )
    notebook = parse_notebook(data)
    markdown, code = notebook.cells
    assert "<h1>Title</h1>" in markdown.html
    assert "&lt;b&gt;" in markdown.html
    assert code.execution_count == 3
    kinds = [(o.kind, o.text or o.image_src[:22]) for o in code.outputs]
    assert kinds == [
        ("stream", "red\n"),
        ("image", "data:image/png;base64,"),
        ("text", "<Figure>"),
        ("error", "ValueError: bad"),
    ]


@pytest.mark.parametrize("data", [b"not json", b"[1, 2]", b'{"cells": 3}'])
def test_notebook_refuses_other_files(data: bytes) -> None:
    with pytest.raises(InvalidArgument, match="not a Jupyter notebook"):
        parse_notebook(data)


def test_formatting() -> None:
    assert duration(None) == "—"
    assert duration(450) == "450 ms"
    assert duration(65_000) == "1m 05s"
    assert duration(3_723_000) == "1h 02m"
    assert number(float("nan")) == "NaN"
    assert number(0.123456789) == "0.123457"
    assert [param_text(v) for v in ("rf", True, None, 4)] == ["rf", "true", "null", "4"]
    assert quote_filter_text("it's") == "'it''s'"


def test_json_script_cannot_close_its_script_element() -> None:
    text = str(json_script({"name": "</script><script>alert(1)</script>&"}))
    assert "<" not in text
    assert ">" not in text
    assert json.loads(text) == {"name": "</script><script>alert(1)</script>&"}


def _run(run_id: str, params: dict[str, ParamValue], acc: float) -> Run:
    summary = MetricSummary("acc", acc, 1, 1, acc, acc, 1)
    return Run(run_id, "p", run_id, RunStatus.FINISHED, "ada", 0, 1000, params=params,
               metrics={"acc": summary})  # fmt: skip


def test_compare_sections_mark_differing_values() -> None:
    runs = [_run("a", {"model": "rf", "depth": 4}, 0.9), _run("b", {"model": "rf"}, 0.95)]
    sections = dict(compare_sections(runs))
    assert list(sections) == ["run", "params", "metrics"]
    params = {row.key: row for row in sections["params"]}
    assert params["depth"].values == ("4", "—")
    assert params["depth"].differs
    assert not params["model"].differs
    assert sections["metrics"][0].values == ("0.9", "0.95")
