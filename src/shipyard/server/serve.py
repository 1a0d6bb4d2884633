"""Run the server: open the stores named by URIs and serve the app with uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from shipyard.artifacts.base import open_artifact_store
from shipyard.server.app import DEFAULT_MAX_BODY_BYTES, create_app
from shipyard.store.factory import open_store

logger = logging.getLogger("shipyard.server")


def serve(
    host: str,
    port: int,
    store_uri: str,
    artifacts_uri: str,
    *,
    log_level: str = "info",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> None:
    """Serve the Shipyard API until interrupted (blocks).

    The metadata store is opened with ``auto_create=True`` (an empty database is migrated; one
    with an outdated schema raises ``SchemaOutdated``) and closed on shutdown.

    Example::

        serve("127.0.0.1", 8080, "sqlite:///shipyard.db", "./artifacts")
    """
    store = open_store(store_uri, auto_create=True)
    try:
        artifacts = open_artifact_store(artifacts_uri)
        app = create_app(store, artifacts, max_body_bytes=max_body_bytes)
        logger.info("serving Shipyard on http://%s:%d", host, port)
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        store.close()
