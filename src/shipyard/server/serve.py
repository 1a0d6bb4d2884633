"""Run the server: open the stores named by URIs and serve the app with uvicorn."""

from __future__ import annotations

import logging
from collections.abc import Callable

import uvicorn

from shipyard.artifacts.base import ArtifactStore, open_artifact_store
from shipyard.server.app import DEFAULT_MAX_BODY_BYTES, create_app
from shipyard.store.base import RunStore
from shipyard.store.factory import open_store

logger = logging.getLogger("shipyard.server")

Background = Callable[[RunStore, ArtifactStore], Callable[[], None]]
"""Starts a service next to the app over its stores (the workflow daemon) and returns its stop."""


def serve(
    host: str,
    port: int,
    store_uri: str,
    artifacts_uri: str,
    *,
    log_level: str = "info",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    webhook_secret: str | None = None,
    background: Background | None = None,
    auth: bool = False,
) -> None:
    """Serve the Shipyard API until interrupted (blocks).

    The metadata store is opened with ``auto_create=True`` (an empty database is migrated; one
    with an outdated schema raises ``SchemaOutdated``) and closed on shutdown. ``webhook_secret``
    turns the git webhooks on; ``background`` starts a service over the stores (the CLI passes
    the workflow daemon) that is stopped before the store closes. ``auth`` requires credentials
    (API tokens, UI sign-in) and enforces project roles.

    Example::

        serve("127.0.0.1", 8080, "sqlite:///shipyard.db", "./artifacts")
    """
    store = open_store(store_uri, auto_create=True)
    stop_background: Callable[[], None] | None = None
    try:
        artifacts = open_artifact_store(artifacts_uri)
        app = create_app(store, artifacts, max_body_bytes=max_body_bytes, auth=auth)
        app.state.webhook_secret = webhook_secret
        if background is not None:
            stop_background = background(store, artifacts)
        logger.info("serving Shipyard on http://%s:%d", host, port)
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        if stop_background is not None:
            stop_background()
        store.close()
