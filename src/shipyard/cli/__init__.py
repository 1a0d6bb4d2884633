"""The ``shipyard`` command line: parse, make one SDK call, render (a Rich table or ``--json``).

Rule: the CLI only talks to the SDK (and, lazily, to the server for ``shipyard server``); it holds
no business logic. Entry point: :func:`main` (``shipyard = "shipyard.cli:main"``).

A :class:`~shipyard.errors.ShipyardError` (or an OS error such as an unwritable folder) ends a
command with ``error:`` / ``hint:`` lines on stderr and exit status 1, with no traceback unless
``--debug`` is given; usage errors keep Click's exit status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the ``shipyard`` command line with ``argv`` (default: ``sys.argv[1:]``) and exit.

    Example::

        main(["runs", "list", "--project", "iris", "--json"])
    """
    from typer.main import get_command

    from shipyard.cli._render import print_error
    from shipyard.cli._state import CliState
    from shipyard.cli.app import app
    from shipyard.errors import ShipyardError

    state = CliState()
    try:
        # Standalone mode: Click exits by itself on success and on usage errors (status 2).
        get_command(app).main(args=argv, prog_name="shipyard", obj=state)
    except (ShipyardError, OSError) as exc:  # a closed pipe never gets here: Click quiets it
        print_error(state.err, exc, debug=state.debug)
    sys.exit(1)


__all__ = ["main"]
