"""What the job tests share: a git repository with scripts, settings, and process checks."""

from __future__ import annotations

import subprocess
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from shipyard.settings import Settings

TRAIN = """
import os, pathlib, shipyard
with shipyard.start_run() as run:
    run.log_metrics({"loss": 0.25}, step=0)
    print("cwd", os.getcwd())
    print("version", pathlib.Path("VERSION").read_text().strip())
"""

RANKS = """
import os, pathlib, time, shipyard
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
barrier = pathlib.Path(os.environ["BARRIER"])
with shipyard.start_run() as run:
    (barrier / f"ready-{rank}").touch()
    while len(list(barrier.glob("ready-*"))) < world:  # no rank ends the run before all joined
        time.sleep(0.05)
    run.log_metrics({f"rank{rank}/seen": 1.0}, step=0)
    print("rank", rank, "of", world, "at", os.environ["MASTER_ADDR"])
"""

FLAKY = """
import os, pathlib, sys
marker = pathlib.Path(os.environ["MARKER"])
if not marker.exists():
    marker.write_text("failed once")
    print("first attempt fails")
    sys.exit(3)
print("second attempt works")
"""

FAIL = """
print("about to fail")
raise SystemExit(7)
"""

TREE = """
import os, pathlib, subprocess, sys, time
folder = pathlib.Path(os.environ["PIDS"])
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
(folder / "child").write_text(str(child.pid))
(folder / "parent").write_text(str(os.getpid()))
time.sleep(600)
"""


def git(repo: Path, *args: str) -> None:
    """Run git quietly in ``repo``."""
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def make_repo(root: Path) -> Path:
    """A git repository with the test scripts committed and ``VERSION`` changed to 2 (so the
    job's code is a commit plus an uncommitted patch)."""
    repo = root / "repo"
    repo.mkdir(parents=True)
    scripts = {"train.py": TRAIN, "ranks.py": RANKS, "flaky.py": FLAKY, "fail.py": FAIL}
    scripts["tree.py"] = TREE
    for name, text in scripts.items():
        (repo / name).write_text(textwrap.dedent(text).lstrip())
    (repo / "VERSION").write_text("1\n")
    (repo / ".gitignore").write_text(".shipyard/\n")
    git(repo, "init", "-q")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    (repo / "VERSION").write_text("2\n")
    return repo


def job_settings(home: Path, **extra: object) -> Settings:
    """Settings for a test's jobs: their own home, quick flushes, no system metrics."""
    return Settings(home=home, system_metrics_interval=0, flush_interval=0.05, **extra)


def wait_until(check: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    """Poll ``check`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.1)


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie counts as ended)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
