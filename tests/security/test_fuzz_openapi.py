"""schemathesis over every operation of the OpenAPI document: no input gets a 5xx answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import free_port
from security.fuzz import fuzz, live_server


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fuzzing_the_openapi_schema_finds_no_server_error(tmp_path: Path) -> None:
    with live_server(tmp_path, free_port()) as (base, known):
        report = fuzz(base, known, examples=12)
    print(report.to_dict())
    assert report.operations >= 25
    assert report.cases >= report.operations * 10
    assert report.server_errors == []
