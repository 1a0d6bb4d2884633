"""A :class:`~shipyard.repro.source.RunSource` over an SDK :class:`~shipyard.sdk.client.Client`."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from shipyard.domain.entities import Run, RunInput
from shipyard.errors import NotFound
from shipyard.repro.source import PATCH_ARTIFACT, Record
from shipyard.sdk.client import Client


class ClientSource:
    """Reads runs, environment records, patches and inputs through a ``Client``.

    Example::

        with Client() as client:
            diff = diff_runs(ClientSource(client), run_a, run_b)
    """

    def __init__(self, client: Client) -> None:
        self.client = client

    def get_run(self, run_id: str) -> Run:
        """The run with its params, tags and metric summaries. Raises ``NotFound``."""
        return self.client.get_run(run_id)

    def environment(self, run_id: str) -> Record | None:
        """The run's environment record, or ``None`` when it has none.

        Raises ``NotFound`` for an unknown run, ``IntegrityError`` for a record that is not a
        JSON object.
        """
        self.client.get_run(run_id)
        try:
            return self.client.environment(run_id)
        except NotFound:
            return None

    def code_patch(self, run_id: str) -> str | None:
        """The run's uncommitted patch, or ``None`` when none was stored."""
        data = self._read(run_id, PATCH_ARTIFACT)
        return None if data is None else data.decode("utf-8", errors="surrogateescape")

    def run_inputs(self, run_id: str) -> Sequence[RunInput]:
        """The run's lineage records."""
        return self.client.backend.store.list_run_inputs(run_id)

    def _read(self, run_id: str, path: str) -> bytes | None:
        stored = [a for a in self.client.list_artifacts(run_id, path) if a.path == path]
        if not stored:
            return None
        with tempfile.TemporaryDirectory(prefix="shipyard-repro-") as tmp:
            target = Path(tmp) / "artifact"
            self.client.download_artifact(run_id, path, target)
            return target.read_bytes()
