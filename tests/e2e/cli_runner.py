"""Running ``shipyard`` in a subprocess for the CLI tests: a clean environment (no SHIPYARD_*
variables from the caller) and a wide terminal, and ``shipyard server`` on a free port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import free_port, wait_for_port

CLI = [sys.executable, "-m", "shipyard.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without SHIPYARD_* variables, a wide terminal, and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


@dataclass
class Cli:
    """Runs ``shipyard`` (or any command) in ``cwd`` with ``env``."""

    cwd: Path
    env: dict[str, str]
    timeout: float = 120

    def run(
        self, command: list[str], *, rc: int | None = 0, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``command``; check its exit status unless ``rc`` is ``None``."""
        proc = subprocess.run(
            command,
            cwd=self.cwd,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        if rc is not None:
            assert proc.returncode == rc, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def __call__(
        self, *args: str, rc: int | None = 0, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.run([*CLI, *args], rc=rc, stdin=stdin)

    def json(self, *args: str) -> Any:
        """Run with ``--json`` and parse stdout (which must be plain JSON, no escape codes)."""
        out = self(*args, "--json").stdout
        assert "\x1b" not in out
        return json.loads(out)


@contextmanager
def cli_server(cli: Cli) -> Iterator[str]:
    """``shipyard server`` run by ``cli`` on a free port; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [*CLI, "server", "--port", str(port), "--log-level", "warning"],
        cwd=cli.cwd,
        env=cli.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
