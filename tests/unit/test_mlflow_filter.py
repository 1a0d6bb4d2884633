"""MLflow run filters and order terms rewritten into Shipyard's grammar (pure)."""

from __future__ import annotations

import pytest

from shipyard.domain.filter import parse_filter, parse_order_by
from shipyard.errors import FilterSyntaxError
from shipyard.server.mlflow._filter import translate_filter, translate_order


@pytest.mark.parametrize(
    ("mlflow", "shipyard"),
    [
        ("", ""),
        ("metrics.acc > 0.9", "metrics.acc > 0.9"),
        ("attributes.run_name = 'x'", "attributes.name = 'x'"),
        ("attributes.run_id IN ('a', 'b')", "attributes.id IN ('a', 'b')"),
        ("run_name LIKE 'tr%' and user_id = 'me'", "name LIKE 'tr%' and user = 'me'"),
        ("params.run_id = 'run_id'", "params.run_id = 'run_id'"),
        ('tags.`mlflow.runName` = "run_name"', 'tags.`mlflow.runName` = "run_name"'),
    ],
)
def test_translate_filter(mlflow: str, shipyard: str) -> None:
    assert translate_filter(mlflow) == shipyard
    if shipyard:
        parse_filter(shipyard)


def test_translated_filters_parse() -> None:
    text = (
        "metrics.acc > 0.9 and params.opt = 'adam' and attributes.status = 'FINISHED' "
        "and tags.\"mlflow.runName\" ILIKE '%train%' and attributes.start_time > 0"
    )
    assert parse_filter(translate_filter(text)) is not None


def test_translate_order() -> None:
    terms = translate_order(["metrics.acc DESC", "attributes.run_name", "", "start_time ASC"])
    assert terms == ["metrics.acc DESC", "attributes.name", "start_time ASC"]
    assert len(parse_order_by(terms)) == 3


@pytest.mark.parametrize("field", ["attributes.artifact_uri", "attribute.lifecycle_stage"])
def test_unsupported_attributes(field: str) -> None:
    with pytest.raises(FilterSyntaxError, match="not supported"):
        translate_filter(f"{field} = 'x'")
