"""Import an MLflow history into Shipyard: ``shipyard import mlflow --from URI``.

One rule: the ``mlflow`` package is never needed. Sources are read directly — a tracking server
through its REST API (``http(s)://``), a tracking database through SQLAlchemy over MLflow's
tables (``sqlite:///mlflow.db``, ``postgresql://...``), or an ``mlruns`` folder (a path or
``file://``) through its ``meta.yaml`` and metric files. Imports are idempotent (see ``_copy.py``).
"""

from __future__ import annotations

from pathlib import Path

from shipyard.errors import NotFound
from shipyard.importers.mlflow._copy import Copier, ImportSummary, Progress, project_name
from shipyard.importers.mlflow._source import MlflowSource
from shipyard.sdk.backend import Backend

__all__ = ["ImportSummary", "import_mlflow", "open_source", "project_name"]


def open_source(uri: str, *, token: str | None = None) -> MlflowSource:
    """The reader for ``uri``: ``http(s)://`` server, database URL, or ``mlruns`` folder.

    Raises ``NotFound`` for a folder that does not exist.
    """
    if uri.startswith(("http://", "https://")):
        from shipyard.importers.mlflow._http import HttpSource

        return HttpSource(uri, token=token)
    if "://" in uri and not uri.startswith("file://"):
        from shipyard.importers.mlflow._db import DbSource

        base = Path(uri.split("///", 1)[1]).parent if uri.startswith("sqlite:///") else None
        return DbSource(uri.replace("postgresql://", "postgresql+psycopg://", 1), base=base)
    root = Path(uri.removeprefix("file://"))
    if not root.is_dir():
        raise NotFound(
            f"MLflow folder {str(root)!r} does not exist",
            hint="pass an mlruns folder, a database URL (sqlite:///mlflow.db) or http://host:port",
        )
    from shipyard.importers.mlflow._folder import FolderSource

    return FolderSource(root)


def import_mlflow(
    uri: str, backend: Backend, *, token: str | None = None, progress: Progress | None = None
) -> ImportSummary:
    """Copy experiments, runs (params, tags, full metric history, artifacts) and registered
    models from an MLflow history into ``backend``; running it again copies nothing twice.

    >>> summary = import_mlflow("sqlite:///mlflow.db", backend)
    """
    source = open_source(uri, token=token)
    copier = Copier(source, backend, progress)
    try:
        return copier.run()
    finally:
        copier.close()
        source.close()
