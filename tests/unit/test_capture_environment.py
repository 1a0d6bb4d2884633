"""The whole environment record and its summary tags."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import orjson

from shipyard.capture import ENV_SCHEMA, capture_environment, summarize
from shipyard.domain.validation import validate_key, validate_tags


def test_record_shape_and_json(tmp_path: Path) -> None:
    env = capture_environment(cwd=tmp_path, argv=["job.py"])
    assert list(env) == [
        "schema",
        "captured_at",
        "code",
        "python",
        "packages",
        "system",
        "container",
        "accelerators",
        "frameworks",
        "duration_ms",
        "errors",
    ]
    assert env["schema"] == ENV_SCHEMA
    assert datetime.fromisoformat(env["captured_at"]).tzinfo is not None
    assert env["errors"] == []
    assert env["code"]["git"] is None
    assert env["code"]["cwd"] == str(tmp_path.resolve())
    assert env["packages"]["distributions"]["numpy"]
    assert env["accelerators"]["gpus"] == [] or env["accelerators"]["gpu_source"]
    assert env["duration_ms"] > 0
    assert all("errors" not in env[name] for name in ("code", "packages", "system"))
    assert json.loads(json.dumps(env)) == env
    assert orjson.loads(orjson.dumps(env)) == env


def test_summarize_gives_valid_tags(tmp_path: Path) -> None:
    env = capture_environment(cwd=tmp_path, argv=[])
    tags = summarize(env)
    assert tags["shipyard.python.version"] == env["python"]["version"]
    assert tags["shipyard.packages.sha256"] == env["packages"]["sha256"]
    assert "shipyard.git.commit" not in tags
    for key in tags:
        validate_key(key, "tag key")
    assert validate_tags(tags) == tags


def test_summarize_names_gpus_and_image() -> None:
    env = {
        "code": {"git": {"commit": "abc", "branch": None, "dirty": True, "remote_url": None}},
        "accelerators": {"gpus": [{"name": "NVIDIA A100"}, {"name": "NVIDIA A100"}]},
        "container": {"image": "ghcr.io/org/train:1"},
    }
    assert summarize(env) == {
        "shipyard.git.commit": "abc",
        "shipyard.git.dirty": "true",
        "shipyard.gpu.model": "NVIDIA A100",
        "shipyard.gpu.count": "2",
        "shipyard.container.image": "ghcr.io/org/train:1",
    }


def test_summarize_tolerates_partial_records() -> None:
    assert summarize({}) == {}
    assert summarize({"code": None, "accelerators": {"gpus": "broken"}, "python": 3}) == {}
