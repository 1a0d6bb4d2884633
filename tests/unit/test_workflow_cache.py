"""The step cache's pieces: keys, the reason a job ran, and what counts as code."""

from __future__ import annotations

import subprocess
from pathlib import Path

from shipyard.workflows.cache import cache_key, code_fingerprint, explain, fingerprint

BASE = fingerprint(
    job="train",
    command="python train.py --lr ${params.lr}",
    env={"A": "1"},
    params={"lr": 0.1},
    outputs={"model": "model:iris"},
    code="c1",
    environment="e1",
    inputs={"data": "d1"},
)


def changed(**fields: object) -> dict[str, object]:
    return {**BASE, **fields}


def test_keys_depend_on_every_field_and_not_on_order() -> None:
    assert cache_key(BASE) == cache_key(dict(reversed(list(BASE.items()))))
    for field in ("command", "code", "environment"):
        assert cache_key(changed(**{field: "other"})) != cache_key(BASE)
    assert cache_key(changed(params={"lr": 0.2})) != cache_key(BASE)
    assert cache_key(changed(inputs={"data": "d2"})) != cache_key(BASE)


def test_explains_what_changed() -> None:
    assert explain(None, BASE) == "ran: no earlier run of this job"
    assert explain(BASE, changed(params={"lr": 0.2})) == "ran: params.lr changed"
    assert explain(BASE, changed(inputs={"data": "d2"}, code="c2")) == (
        "ran: code changed, inputs.data changed"
    )
    assert explain(BASE, changed(env={})) == "ran: env.A changed"
    assert explain(BASE, BASE) == "ran: the earlier result is no longer usable"


def test_code_outside_git_is_the_source_files(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print(1)\n")
    before = code_fingerprint(tmp_path)
    (tmp_path / "out.csv").write_text("a,b\n")
    (tmp_path / ".shipyard").mkdir()
    (tmp_path / ".shipyard" / "x.py").write_text("ignored")
    assert code_fingerprint(tmp_path) == before
    (tmp_path / "train.py").write_text("print(2)\n")
    assert code_fingerprint(tmp_path) != before


def test_code_in_git_is_the_tracked_files_as_they_are(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print(1)\n")
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "x"]):
        subprocess.run(
            ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=tmp_path, check=True
        )
    before = code_fingerprint(tmp_path)
    (tmp_path / "generated.py").write_text("untracked")
    assert code_fingerprint(tmp_path) == before
    (tmp_path / "train.py").write_text("print(2)\n")  # uncommitted edits count
    assert code_fingerprint(tmp_path) != before
