"""``reproduce``: rebuild a run from its record, run it again as a new run, and verify it.

The code is cloned from the recorded repository (its folder when it still exists, else its remote)
at the recorded commit and the recorded patch is applied, in a fresh working directory. The Python
is this interpreter (``env="current"``) or an isolated virtualenv with the recorded distributions
at their exact versions (``env="recorded"``). Dataset versions are pinned through
``SHIPYARD_DATASET_PINS``, the recorded determinism variables (``PYTHONHASHSEED``...) are set, and
the recorded command runs in the recorded working directory through
:func:`shipyard.sdk.launch.launch`, as a new run of the same project tagged
``shipyard.reproduction_of``. With ``verify``, every metric summary is compared with the original's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.domain.entities import Run
from shipyard.domain.validation import MAX_NAME
from shipyard.errors import Conflict, InvalidArgument, NotFound
from shipyard.repro._checks import (
    child_env,
    dataset_pins,
    determinism_env,
    gpu_check,
    recorded_command,
    with_python,
)
from shipyard.repro._codediff import CodeState
from shipyard.repro._git import has_commit
from shipyard.repro._pyenv import PythonEnv, build_recorded, current_env, find_uv, plan_recorded
from shipyard.repro._workspace import Checkout, checkout, clone_source
from shipyard.repro.client_source import ClientSource
from shipyard.repro.compare import MetricCheck, check_tolerances, compare_metrics
from shipyard.repro.source import ENVIRONMENT_ARTIFACT, Record, lookup
from shipyard.sdk.client import Client
from shipyard.sdk.launch import launch
from shipyard.settings import Settings

REPRODUCTION_TAG = "shipyard.reproduction_of"
"""Tag of a reproduced run: the id of the run it reproduces."""
LAUNCHER = "reproduce"
ENV_MODES = ("current", "recorded")
_NAME_SUFFIX = " (repro)"


@dataclass(frozen=True, slots=True)
class ReproduceOptions:
    """How to reproduce a run (see :func:`reproduce`)."""

    env: str = "current"
    workdir: Path | None = None
    verify: bool = False
    rtol: float = 0.0
    atol: float = 0.0
    allow_missing_commit: bool = False
    allow_package_mismatch: bool = False
    allow_gpu_mismatch: bool = False
    dry_run: bool = False
    echo: bool = True


@dataclass
class Reproduction:
    """What a reproduction restored, ran and found (or, for a dry run, would do)."""

    original: Run
    workdir: Path
    command: list[str]
    cwd: str
    python: PythonEnv
    variables: dict[str, str]
    pins: dict[str, int]
    gpu: dict[str, Any]
    code_source: str
    commit: str | None = None
    dry_run: bool = False
    blockers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checkout: Checkout | None = None
    run_id: str | None = None
    status: str | None = None
    exit_code: int | None = None
    error: str | None = None
    checks: tuple[MetricCheck, ...] | None = None
    tolerances: tuple[float, float] = (0.0, 0.0)

    @property
    def verified(self) -> bool | None:
        """Whether every metric matched (``None`` when not verified)."""
        return None if self.checks is None else all(c.ok for c in self.checks)

    @property
    def succeeded(self) -> bool:
        """The command exited 0 and (when verified) every metric matched; a dry run: no blocker."""
        if self.dry_run:
            return not self.blockers
        return self.exit_code == 0 and self.verified is not False

    def to_dict(self) -> dict[str, Any]:
        """JSON form (non-finite metric values as strings)."""
        return {
            "original": {"id": self.original.id, "name": self.original.name},
            "project": self.original.project,
            "dry_run": self.dry_run,
            "workdir": str(self.workdir),
            "code": {"source": self.code_source, "commit": self.commit}
            | ({} if self.checkout is None else self.checkout.to_dict()),
            "command": self.command,
            "cwd": self.cwd,
            "python": self.python.to_dict(),
            "variables": self.variables,
            "dataset_pins": self.pins,
            "gpu": self.gpu,
            "blockers": self.blockers,
            "notes": self.notes,
            "run_id": self.run_id,
            "status": self.status,
            "exit_code": self.exit_code,
            "error": self.error,
            "verified": self.verified,
            "tolerances": {"rtol": self.tolerances[0], "atol": self.tolerances[1]},
            "checks": None if self.checks is None else [c.to_dict() for c in self.checks],
            "succeeded": self.succeeded,
        }


def reproduce(
    client: Client,
    run_id: str,
    options: ReproduceOptions | None = None,
    *,
    settings: Settings | None = None,
    environ: Mapping[str, str] | None = None,
    on_launch: Callable[[Reproduction], None] | None = None,
) -> Reproduction:
    """Rebuild run ``run_id`` in a fresh working directory and run it again as a new run.

    Args:
        client: where the original run is read and the new one is written.
        run_id: the run to reproduce.
        options: what to do (default: this interpreter, no verification).
        settings: what the command receives (default: the client's).
        environ: the base environment of the command (default: ``os.environ``).
        on_launch: called once the code and Python are ready, just before the command starts
            (the CLI prints what was restored).

    Raises:
        NotFound: the run, its environment record, its repository or its commit is missing
            (a missing commit only without ``allow_missing_commit``).
        InvalidArgument: no command was recorded, bad options, a non-empty ``workdir``.
        Conflict: the GPUs (or, for ``env="recorded"``, the Python version) differ, unless allowed.
        Unavailable: a recorded distribution cannot be installed (named), unless allowed.

    Example::

        with Client() as client:
            result = reproduce(client, run_id, ReproduceOptions(verify=True, rtol=1e-6))
            print(result.run_id, result.verified)
    """
    options = options or ReproduceOptions()
    result, env, state = _plan(client, run_id, options)
    if options.dry_run:
        return result
    _rebuild(result, env, state, options)
    if on_launch is not None:
        on_launch(result)
    _launch(result, options, settings or client.settings, environ)
    if options.verify and result.run_id is not None:
        reproduced = client.get_run(result.run_id)
        result.checks = compare_metrics(
            result.original.metrics, reproduced.metrics, rtol=options.rtol, atol=options.atol
        )
    return result


def plan(client: Client, run_id: str, options: ReproduceOptions) -> Reproduction:
    """Read the record and check this machine against it; nothing is created.

    Raises like :func:`reproduce` (in a dry run, mismatches are listed in ``blockers`` instead).
    """
    return _plan(client, run_id, options)[0]


def _plan(
    client: Client, run_id: str, options: ReproduceOptions
) -> tuple[Reproduction, Record, CodeState]:
    _check_options(options)
    source = ClientSource(client)
    original = source.get_run(run_id)
    env = source.environment(original.id)
    if env is None:
        raise NotFound(
            f"run {original.id} has no environment record ({ENVIRONMENT_ARTIFACT})",
            hint="only runs started with capture on (the default) can be reproduced",
        )
    state = CodeState.of(original.id, env, source.code_patch(original.id))
    workdir = options.workdir or Path(tempfile.gettempdir(), f"shipyard-repro-{original.id[:8]}")
    pins, pin_notes = dataset_pins(source.run_inputs(original.id))
    gpu, gpu_problem = gpu_check(env)
    notes = list(pin_notes)
    code_source = _source_of(state, notes)
    result = Reproduction(
        original=original,
        workdir=workdir,
        command=recorded_command(env, original.id),
        cwd=str(lookup(env, "code", "git", "cwd_relative") or "."),
        python=_plan_python(env, options, workdir),
        variables=determinism_env(env),
        pins=pins,
        gpu=gpu,
        code_source=code_source,
        commit=state.commit,
        dry_run=options.dry_run,
        notes=notes,
        tolerances=(options.rtol, options.atol),
    )
    _gate(result, gpu_problem, options.allow_gpu_mismatch, "--allow-gpu-mismatch")
    if options.dry_run:
        _gate(
            result, _missing_commit(state), options.allow_missing_commit, "--allow-missing-commit"
        )
    allow_packages = options.allow_package_mismatch
    for failed in result.python.failed:
        _gate(result, f"cannot install {failed}", allow_packages, "--allow-package-mismatch")
    return result, env, state


def _check_options(options: ReproduceOptions) -> None:
    check_tolerances(options.rtol, options.atol)
    if options.env not in ENV_MODES:
        raise InvalidArgument(
            f"unknown environment mode {options.env!r}", hint="use --env current or --env recorded"
        )


def _source_of(state: CodeState, notes: list[str]) -> str:
    """Where the code will be cloned from (notes say what was passed over)."""
    if not state.recorded:
        raise NotFound(
            f"run {state.run_id} recorded no git state, so its code cannot be rebuilt",
            hint="only runs started inside a git repository can be reproduced",
        )
    source, passed_over = clone_source(state)
    notes += passed_over
    return source


def _missing_commit(state: CodeState) -> str | None:
    """For a dry run: the recorded commit is known to be missing (a remote is checked on clone)."""
    root = Path(state.root) if state.root else None
    if state.commit is None or state.remote_url or root is None or has_commit(root, state.commit):
        return None
    return f"commit {state.commit} is not in {root}"


def _plan_python(env: Record, options: ReproduceOptions, workdir: Path) -> PythonEnv:
    if options.env == "current":
        return current_env()
    return plan_recorded(env, workdir / "venv", workdir / "code", find_uv())


def _gate(result: Reproduction, problem: str | None, allowed: bool, flag: str) -> None:
    """A mismatch stops a reproduction unless allowed (a dry run lists it as a blocker)."""
    if problem is None:
        return
    if allowed:
        result.notes.append(problem)
    elif result.dry_run:
        result.blockers.append(f"{problem} (pass {flag} to go on)")
    else:
        raise Conflict(problem, hint=f"pass {flag} to reproduce anyway")


def _rebuild(
    result: Reproduction, env: Record, state: CodeState, options: ReproduceOptions
) -> None:
    """Check out the code and build the Python of a planned reproduction.

    A folder made here (no ``workdir`` given) is removed again when this fails.
    """
    result.workdir = Path(options.workdir or tempfile.mkdtemp(prefix="shipyard-repro-"))
    code = result.workdir / "code"
    try:
        result.checkout = checkout(state, code, allow_missing_commit=options.allow_missing_commit)
        if options.env == "recorded":
            uv = find_uv()
            result.python = plan_recorded(env, result.workdir / "venv", code, uv)
            build_recorded(env, result.python, uv, allow_mismatch=options.allow_package_mismatch)
    except BaseException:
        if options.workdir is None:
            shutil.rmtree(result.workdir, ignore_errors=True)
        raise


def _launch(
    result: Reproduction,
    options: ReproduceOptions,
    settings: Settings,
    environ: Mapping[str, str] | None,
) -> None:
    """Run the recorded command in the rebuilt checkout as a new run."""
    assert result.checkout is not None, "the code is checked out first"
    where = result.checkout.path / result.cwd
    if not where.is_dir():
        result.notes.append(f"the recorded working directory {result.cwd} does not exist")
        where = result.checkout.path
    base = os.environ if environ is None else environ
    variables = child_env(base, result.python.bin_dir, result.variables)
    if result.python.venv is not None:
        variables["VIRTUAL_ENV"] = str(result.python.venv)
    outcome = launch(
        with_python(result.command, result.python.python),
        project=result.original.project,
        name=_name(result.original.name),
        tags={REPRODUCTION_TAG: result.original.id},
        settings=_with_pins(settings, result.pins),
        cwd=where,
        env=variables,
        launcher=LAUNCHER,
        echo=options.echo,
    )
    result.run_id, result.status = outcome.run_id, outcome.status.value
    result.exit_code, result.error = outcome.exit_code, outcome.error


def _name(original: str) -> str:
    return original[: MAX_NAME - len(_NAME_SUFFIX)] + _NAME_SUFFIX


def _with_pins(settings: Settings, pins: dict[str, int]) -> Settings:
    """Settings whose dataset pins are exactly the run's (the launcher passes them on)."""
    return settings.model_copy(update={"dataset_pins": dict(pins)})
