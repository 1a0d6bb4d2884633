"""Model URIs parse into runs:/ folders and models:/ versions, aliases and latest."""

from __future__ import annotations

import pytest

from shipyard.errors import InvalidArgument
from shipyard.registry import parse_model_uri

RUN = "0123456789abcdef0123456789abcdef"


def test_the_four_forms() -> None:
    run = parse_model_uri(f"runs:/{RUN}/models/iris-clf")
    assert (run.run_id, run.path, run.is_registered) == (RUN, "models/iris-clf", False)
    version = parse_model_uri("models:/iris-clf/3")
    assert (version.name, version.version, version.alias) == ("iris-clf", 3, None)
    alias = parse_model_uri("models:/iris-clf@champion")
    assert (alias.name, alias.version, alias.alias) == ("iris-clf", None, "champion")
    latest = parse_model_uri("models:/iris-clf/latest")
    assert (latest.name, latest.version, latest.alias, latest.is_registered) == (
        "iris-clf",
        None,
        None,
        True,
    )


@pytest.mark.parametrize(
    "uri",
    [
        "s3://bucket/model",
        "runs:/short/models/x",
        f"runs:/{RUN}",
        f"runs:/{RUN}/../etc",
        "models:/",
        "models:/iris/0",
        "models:/iris/x1",
        "models:/iris@1bad",
        "models:/iris@latest",
        "models:/a b/1",
        "iris-clf",
    ],
)
def test_malformed_uris_say_which_forms_exist(uri: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_model_uri(uri)
    assert caught.value.hint is not None
    assert "models:/NAME@ALIAS" in caught.value.hint
    assert repr(uri) in caught.value.message
