"""Run a command as a tracked run: what ``shipyard run -- python train.py`` (and jobs) do.

:func:`launch` creates a run, stores the environment of the working directory with it
(``launcher`` and ``command`` say how it was started; see :mod:`shipyard.capture.layout`), then
starts the command in its own process group with ``SHIPYARD_RUN_ID`` and every other setting in its
environment, so that ``shipyard.start_run()`` inside the command (with or without arguments)
continues this run. The command's stdout and stderr stream to ours and are stored as the artifact
``.shipyard/output.log``; SIGINT and SIGTERM are forwarded to the command's process group.

The launcher ends the run when the command exits, so its status wins over one the command set
itself: ``FINISHED`` for exit 0 (unless the command ended the run otherwise, e.g. ``FAILED``),
``FAILED`` for another exit code (the code, then the command's own error or its last output, in
the run's error), ``KILLED`` when a signal ended it. Runs started this way get no system metrics
from the launcher: the SDK inside the command samples them, as it would without a launcher.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from shipyard.capture.layout import LAUNCHER_TAG, OUTPUT_ARTIFACT
from shipyard.domain.entities import ParamValue, RunStatus
from shipyard.domain.entities import Run as RunRecord
from shipyard.domain.ids import new_id
from shipyard.domain.validation import (
    validate_params,
    validate_project_name,
    validate_run_name,
    validate_tags,
)
from shipyard.errors import InvalidArgument, NotFound, ShipyardError
from shipyard.sdk._capture import capture_into, logger
from shipyard.sdk._process import (
    OutputPump,
    SignalForwarder,
    binary_stream,
    checked_command,
    child_environment,
    exit_code,
    output_tail,
    signal_group,
    signal_name,
    start_child,
)
from shipyard.sdk.backend import Backend, open_backend
from shipyard.sdk.run import MAX_ERROR_CHARS, Run, outcome_of
from shipyard.settings import Settings

PUMP_GRACE_SECONDS = 5.0
"""How long output is still read after the command exited (its children may hold the pipes)."""
NOT_FOUND_EXIT = 127
NOT_EXECUTABLE_EXIT = 126


@dataclass(frozen=True, slots=True)
class LaunchResult:
    """How a launched command ended.

    ``exit_code`` is what a shell would report (``128 + N`` for signal N) and what ``shipyard run``
    exits with; ``returncode`` is the raw one (negative for a signal, ``None`` when the command
    could not start); ``signal`` the signal that ended it or was forwarded to it.
    """

    run_id: str
    status: RunStatus
    exit_code: int
    returncode: int | None
    signal: int | None
    error: str | None


def launch(
    command: Sequence[str],
    *,
    project: str | None = None,
    name: str | None = None,
    params: Mapping[str, object] | None = None,
    tags: Mapping[str, object] | None = None,
    settings: Settings | None = None,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    run_id: str | None = None,
    launcher: str = "cli",
    echo: bool = True,
    on_start: Callable[[Run], None] | None = None,
) -> LaunchResult:
    """Run ``command`` as a tracked run and wait for it; returns how it ended.

    Args:
        command: the program and its arguments, e.g. ``["python", "train.py", "--lr", "0.1"]``.
        project, name, params, tags: of the new run (name default: the program and 4 hex digits).
        settings: configuration (default: ``Settings()``); passed on to the command.
        cwd: where the command runs and whose environment (git...) is captured (default: here).
        env: the command's environment before the ``SHIPYARD_*`` variables (default: ours).
        run_id: use this run: continue it when it exists (it must be ``RUNNING``), else create it.
        launcher: recorded in ``environment.json`` and the ``shipyard.launcher`` tag.
        echo: copy the command's output to our stdout and stderr (it is stored either way).
        on_start: called with the run before the command starts (the CLI prints its id).

    Raises ``InvalidArgument`` for an empty command or bad params, tags or names; the errors of
    the backend when the run cannot be created. A command that cannot start ends the run
    ``FAILED`` with exit code 127 (not found) or 126.

    Example::

        result = launch(["python", "train.py"], project="iris", params={"lr": 0.1})
        sys.exit(result.exit_code)
    """
    args = checked_command(command)
    settings = settings or Settings()
    here = Path.cwd()
    where = here if cwd is None else (here / cwd).resolve()
    run = open_run(settings, project, name or default_name(args), params, tags, run_id, launcher)
    try:
        if on_start is not None:
            on_start(run)
        if settings.capture:
            capture_into(
                run,
                cwd=where,
                argv=program_argv(args),
                diff_cap_bytes=settings.diff_cap_bytes,
                launcher=launcher,
                command=args,
            )
        child_env = child_environment(settings, run.id, os.environ if env is None else env, here)
        result = _supervise(run, args, where, child_env, echo)
    except BaseException as exc:
        run.finish(*outcome_of(exc))
        raise
    run.finish(result.status, result.error)
    return result


def program_argv(command: Sequence[str]) -> list[str]:
    """The command as the program sees ``sys.argv``: without the interpreter for ``python ...``
    (so that the capture names the script, not the interpreter, as the entry point)."""
    if len(command) > 1 and _is_python(command[0]):
        return list(command[1:])
    return list(command)


def _is_python(program: str) -> bool:
    return Path(program).name.startswith("python")


def default_name(command: Sequence[str]) -> str:
    """``train-3fa1``: the script (or program) the command runs, and 4 random hex digits."""
    program = Path(command[0]).name
    if _is_python(program) and len(command) > 1:
        if command[1] == "-m" and len(command) > 2:
            program = command[2]
        else:
            program = Path(command[1]).stem or program
    return f"{program[:200]}-{new_id()[-4:]}"


def open_run(
    settings: Settings,
    project: str | None,
    name: str,
    params: Mapping[str, object] | None,
    tags: Mapping[str, object] | None,
    run_id: str | None,
    launcher: str,
) -> Run:
    """The launcher's handle on its run: created, or ``run_id`` continued (see :func:`launch`).

    The handle has capture and system metrics off: the launcher captures the command's
    environment itself, and the SDK inside the command samples the machine.
    """
    checked_params = validate_params(params or {})
    checked_tags = validate_tags({LAUNCHER_TAG: launcher, **(tags or {})})
    backend = open_backend(settings)
    try:
        record = _existing(backend, run_id) if run_id else None
        if record is None:
            record = backend.store.create_run(
                validate_project_name(project or settings.project),
                name=validate_run_name(name),
                user=settings.user,
                params=checked_params,
                tags=checked_tags,
                start_time=time.time_ns() // 1_000_000,
                run_id=run_id or new_id(),
            )
        else:
            backend.store.log_params(record.id, checked_params)
            backend.store.set_tags(record.id, checked_tags)
            record = backend.store.get_run(record.id)
    except BaseException:
        backend.close()
        raise
    quiet = settings.model_copy(update={"capture": False, "system_metrics_interval": 0})
    return Run(backend, record, quiet, owns_backend=True)


def _existing(backend: Backend, run_id: str) -> RunRecord | None:
    try:
        record = backend.store.get_run(run_id)
    except NotFound:
        return None
    if record.status.is_terminal:
        raise InvalidArgument(
            f"run {run_id} has already ended ({record.status.value})",
            hint="launch into a RUNNING run, or leave run_id out to create one",
        )
    return record


def parse_assignments(items: Sequence[str], *, option: str, typed: bool) -> dict[str, object]:
    """``["lr=0.1", "model=rf"]`` as a dict; ``typed`` reads values as JSON scalars.

    With ``typed``, ``0.1`` is a float, ``10`` an int, ``true`` a bool, ``null`` None, and anything
    else stays text, so that a param equals what the program logs for the same value. Raises
    ``InvalidArgument`` naming ``option`` for an item without ``=`` or with an empty key.
    """
    parsed: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidArgument(
                f"{option} {item!r} is not KEY=VALUE", hint=f"write it like {option} lr=0.1"
            )
        parsed[key.strip()] = parse_value(value) if typed else value
    return parsed


def parse_value(text: str) -> ParamValue:
    """A param value from the command line: a JSON number, ``true``/``false``/``null``, or text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if value is None or isinstance(value, bool | int | float):
        return value
    return text


# -- the child process ----------------------------------------------------------------------------
def _supervise(
    run: Run, command: list[str], cwd: Path, env: Mapping[str, str], echo: bool
) -> LaunchResult:
    with tempfile.TemporaryDirectory(prefix="shipyard-run-") as tmp:
        log_path = Path(tmp, "output.log")
        with log_path.open("wb") as log:
            sys.stdout.flush()
            try:
                child = start_child(command, cwd, env)
            except OSError as exc:
                return _not_started(run.id, command, exc)
            returncode, forwarded = _wait(child, log, echo)
        _store_output(run, log_path)
        tail = output_tail(log_path)
    return exit_result(run.id, returncode, forwarded, _current(run), tail)


def _wait(child: subprocess.Popen[bytes], log: BinaryIO, echo: bool) -> tuple[int, int | None]:
    """Pump output until the command exits; returns its return code and a forwarded signal."""
    assert child.stdout is not None
    assert child.stderr is not None
    lock = threading.Lock()
    out = binary_stream(sys.stdout) if echo else None
    err = binary_stream(sys.stderr) if echo else None
    with SignalForwarder(child.pid) as forwarder:
        pumps = [OutputPump(child.stdout, out, log, lock), OutputPump(child.stderr, err, log, lock)]
        try:
            returncode = child.wait()
        except BaseException:  # the launcher itself is going down: take the command with it
            _stop(child)
            raise
    for pump in pumps:
        pump.join(PUMP_GRACE_SECONDS)
    return returncode, forwarder.received


def _stop(child: subprocess.Popen[bytes]) -> None:
    signal_group(child.pid, signal.SIGTERM)
    try:
        child.wait(PUMP_GRACE_SECONDS)
    except Exception:  # still alive after SIGTERM (or the wait was interrupted)
        signal_group(child.pid, signal.SIGKILL)


def _store_output(run: Run, log_path: Path) -> None:
    try:
        run.backend.upload_artifacts(run.id, [(log_path, OUTPUT_ARTIFACT)])
    except Exception as exc:  # the output is a convenience: it never fails the run
        logger.warning("shipyard could not store the output of run %s: %s", run.id, exc)


def _current(run: Run) -> RunRecord | None:
    """The run as stored now (the command may have ended it itself)."""
    try:
        return run.backend.store.get_run(run.id)
    except ShipyardError:
        return None


def exit_result(
    run_id: str, returncode: int, forwarded: int | None, stored: RunRecord | None, tail: str
) -> LaunchResult:
    """How a run ends after its command exited with ``returncode`` (see :func:`launch`).

    Args:
        run_id: the run.
        returncode: the command's (negative for a signal, as ``subprocess`` reports it).
        forwarded: a signal the launcher forwarded to the command, if any.
        stored: the run as stored now (the command may have ended it itself), if known.
        tail: the last lines of the command's output, for the error of a failed run.
    """
    signum = -returncode if returncode < 0 else forwarded
    ended_by_command = stored is not None and stored.status.is_terminal
    if returncode == 0:
        if stored is not None and ended_by_command:
            return LaunchResult(run_id, stored.status, 0, 0, signum, stored.error)
        return LaunchResult(run_id, RunStatus.FINISHED, 0, 0, signum, None)
    if returncode < 0:
        status, summary = RunStatus.KILLED, f"the command was killed by {signal_name(-returncode)}"
    elif forwarded is not None:
        status = RunStatus.KILLED
        summary = f"the command exited with code {returncode} after {signal_name(forwarded)}"
    else:
        status, summary = RunStatus.FAILED, f"the command exited with code {returncode}"
    detail = stored.error if stored is not None and ended_by_command and stored.error else None
    if detail is None and tail:
        detail = f"last output:\n{tail}"
    error = _bounded(summary if detail is None else f"{summary}\n{detail}")
    return LaunchResult(run_id, status, exit_code(returncode), returncode, signum, error)


def _not_started(run_id: str, command: list[str], exc: OSError) -> LaunchResult:
    missing = isinstance(exc, FileNotFoundError)
    code = NOT_FOUND_EXIT if missing else NOT_EXECUTABLE_EXIT
    what = "was not found" if missing else f"could not start ({exc.strerror or exc})"
    error = f"the command {command[0]!r} {what}"
    return LaunchResult(run_id, RunStatus.FAILED, code, None, None, error)


def _bounded(text: str) -> str:
    if len(text) <= MAX_ERROR_CHARS:
        return text
    half = MAX_ERROR_CHARS // 2
    return f"{text[:half]}\n...\n{text[-half:]}"
