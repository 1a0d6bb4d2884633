"""``python -m shipyard.server --store URI --artifacts URI --host 127.0.0.1 --port N``.

A minimal entry point for tests and containers; people use ``shipyard server`` (the CLI).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from shipyard.errors import ShipyardError


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m shipyard.server", description=__doc__)
    parser.add_argument("--store", default="sqlite:///.shipyard/shipyard.db", help="metadata URI")
    parser.add_argument("--artifacts", default=".shipyard/artifacts", help="folder or s3:// URI")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--log-level", default="info")
    parser.add_argument(
        "--max-body-bytes", type=int, default=64 * 1024 * 1024, help="413 for larger bodies"
    )
    parser.add_argument(
        "--auth", action="store_true", help="require API tokens / sign-in and project roles"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server; returns the exit status."""
    args = parse_args(argv)
    from shipyard.server.serve import serve

    try:
        serve(
            args.host,
            args.port,
            args.store,
            args.artifacts,
            log_level=args.log_level,
            max_body_bytes=args.max_body_bytes,
            auth=args.auth,
        )
    except ShipyardError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
