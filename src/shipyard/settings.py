"""The one configuration object: every ``SHIPYARD_*`` variable lands here.

Entry points (the CLI, ``shipyard server``, ``shipyard.start_run``) build a :class:`Settings`
and pass it down; library code never reads ``os.environ`` itself.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


class Settings(BaseSettings):
    """Shipyard configuration (environment prefix ``SHIPYARD_``).

    ``tracking_uri`` picks the backend: unset -> the embedded store under ``home``;
    ``sqlite:///...`` or ``postgresql+psycopg://...`` -> that database directly;
    ``http(s)://host:port`` -> a Shipyard server.
    """

    model_config = SettingsConfigDict(env_prefix="SHIPYARD_", extra="ignore")

    tracking_uri: str | None = None
    project: str = Field(default="default", description="Project of runs started without one.")
    run_id: str | None = Field(
        default=None, description="An existing run that start_run() continues (set by launchers)."
    )
    artifacts: str | None = Field(
        default=None, description="Artifact location for embedded/direct stores (folder or s3://)."
    )
    home: Path = Field(default=Path(".shipyard"), description="Embedded data folder.")
    token: str | None = Field(
        default=None,
        description="API token for a server with auth on (wins over `shipyard login`).",
    )
    credentials_file: Path | None = Field(
        default=None,
        description="Where `shipyard login` keeps tokens "
        "(default: ~/.config/shipyard/credentials.json).",
    )
    user: str = Field(default_factory=_default_user)
    flush_interval: float = Field(default=0.5, gt=0, description="Seconds between writer flushes.")
    system_metrics_interval: float = Field(
        default=10.0, ge=0, description="Seconds between system samples; 0 turns them off."
    )
    http_timeout: float = Field(default=30.0, gt=0)
    end_timeout: float = Field(
        default=30.0, ge=0, description="Seconds a run end waits for unsent data before spooling."
    )
    dataset_pins: dict[str, int] = Field(
        default_factory=dict,
        description="Dataset versions that use_dataset() takes when none is named, as JSON: "
        '{"mnist": 3} (set by `shipyard reproduce`).',
    )
    capture: bool = Field(
        default=True, description="Capture code, packages and machine when a run is created."
    )
    diff_cap_bytes: int = Field(
        default=5 << 20, ge=0, description="Most bytes of uncommitted git patch a capture keeps."
    )
    capture_timeout: float = Field(
        default=60.0, ge=0, description="Seconds a run end waits for its environment capture."
    )
    webhook_secret: str | None = Field(
        default=None,
        repr=False,
        description="Secret that signs git webhooks (/api/v1/hooks/github, /gitlab); unset: off.",
    )

    @property
    def spool_dir(self) -> Path:
        """Where unsent batches wait (``shipyard sync`` uploads them)."""
        return self.home / "spool"

    @property
    def store_uri(self) -> str:
        """The metadata store URI for embedded/direct use."""
        if self.tracking_uri and not self.is_remote:
            return self.tracking_uri
        return f"sqlite:///{(self.home / 'shipyard.db').as_posix()}"

    @property
    def artifact_uri(self) -> str:
        """The artifact location for embedded/direct use."""
        return self.artifacts or str(self.home / "artifacts")

    @property
    def is_remote(self) -> bool:
        """Whether the tracking URI names a Shipyard server."""
        return bool(self.tracking_uri) and str(self.tracking_uri).startswith(
            ("http://", "https://")
        )
