"""``python -m shipyard.jobs._watch RUN_ID``: follow one direct job until it ended, so that its
run ends, its output is stored and a failed attempt is retried even when nobody reads the job.

:func:`spawn_watcher` starts it detached (through ``sh ... &``, so that no process waits for it)
with the submitter's tracking settings in its environment. Reading the job anywhere does the same
work; the job store's guards make the watcher and readers agree.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from shipyard.sdk._process import child_environment
from shipyard.settings import Settings

_SPAWN = '"$0" -m shipyard.jobs._watch "$1" </dev/null >>"$2" 2>&1 &'
SPAWN_TIMEOUT_S = 30.0
MIN_PAUSE_S = 0.2
MAX_PAUSE_S = 2.0
GIVE_UP_S = 900.0
"""A watcher stops once the job's executor was unreachable this long (readers take over)."""


def spawn_watcher(settings: Settings, run_id: str, log: Path) -> None:
    """Start a detached watcher of job ``run_id`` that writes its remarks to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    env = child_environment(settings, run_id, os.environ, Path.cwd())
    subprocess.run(
        ["sh", "-c", _SPAWN, sys.executable, run_id, str(log)],
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        check=True,
        timeout=SPAWN_TIMEOUT_S,
    )


def watch(run_id: str, settings: Settings) -> int:
    """Refresh the job (as readers do) until it ended: exit status 0 then, 1 when it cannot be
    followed from here or its executor stayed unreachable for ``GIVE_UP_S`` seconds."""
    from shipyard.errors import ShipyardError, Unavailable
    from shipyard.jobs.service import JobService

    def note(text: str) -> None:
        print(f"shipyard watcher {run_id}: {text}", file=sys.stderr, flush=True)

    pause, unreachable_since = MIN_PAUSE_S, None
    with JobService(settings, note=note, watch=False) as jobs:
        while True:
            try:
                job = jobs.refresh(jobs.store.get_job(run_id), strict=True)
                unreachable_since = None
            except Unavailable as exc:
                unreachable_since = unreachable_since or time.monotonic()
                if time.monotonic() - unreachable_since > GIVE_UP_S:
                    note(f"giving up: {exc.message}")
                    return 1
            except ShipyardError as exc:
                note(f"stopped: {exc}")
                return 1
            else:
                if job.state.is_terminal:
                    return 0
                if not jobs.can_refresh(job):
                    note("stopped: the job cannot be followed from this machine")
                    return 1
            time.sleep(pause)
            pause = min(pause * 1.5, MAX_PAUSE_S)


def main(argv: Sequence[str] | None = None) -> int:
    """Watch the job whose run id is the one argument."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m shipyard.jobs._watch RUN_ID", file=sys.stderr)
        return 2
    return watch(args[0], Settings())


if __name__ == "__main__":
    sys.exit(main())
