"""What every command receives from the global options: one Settings, the --debug flag, consoles.

:func:`shipyard.cli.main` passes a :class:`CliState` as the Click context object and the root
callback fills it; commands reach it with :func:`get_state` and open the SDK with
:func:`open_client`. Settings and the SDK are imported on first use, so ``--help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from shipyard.cli._render import make_console
from shipyard.errors import InvalidArgument

if TYPE_CHECKING:
    from shipyard.sdk.client import Client
    from shipyard.settings import Settings


@dataclass
class CliState:
    """Global options of one invocation. ``settings`` is built once, on first use."""

    tracking_uri: str | None = None
    debug: bool = False
    out: Console = field(default_factory=make_console)
    err: Console = field(default_factory=lambda: make_console(stderr=True))
    _settings: Settings | None = field(default=None, init=False, repr=False)

    @property
    def settings(self) -> Settings:
        """The one :class:`Settings` of this invocation (environment + ``--tracking-uri``)."""
        if self._settings is None:
            self._settings = build_settings(self.tracking_uri)
        return self._settings


def build_settings(tracking_uri: str | None = None) -> Settings:
    """Read ``SHIPYARD_*`` variables; ``tracking_uri`` (the option) wins over the environment.

    Raises ``InvalidArgument`` naming the variable when one has a bad value.
    """
    import pydantic

    from shipyard.settings import Settings

    try:
        return Settings() if tracking_uri is None else Settings(tracking_uri=tracking_uri)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"SHIPYARD_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidArgument(
            f"invalid setting: {problems}", hint="fix or unset that environment variable"
        ) from None


def get_state(ctx: typer.Context) -> CliState:
    """The state the root callback stored (a default one when a command runs on its own)."""
    state = ctx.find_object(CliState)
    return state if state is not None else ctx.ensure_object(CliState)


@contextmanager
def open_client(ctx: typer.Context) -> Iterator[Client]:
    """An SDK client for the configured tracking URI, closed when the block ends."""
    from shipyard.sdk.client import Client

    client = Client(settings=get_state(ctx).settings)
    try:
        yield client
    finally:
        client.close()
