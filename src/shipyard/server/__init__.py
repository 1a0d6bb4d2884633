"""The Shipyard hub server (FastAPI). Rule: routes are thin; they validate the wire model, call the
store or artifact store, and convert the result. Only entry points import this package."""

from shipyard.server.app import create_app

__all__ = ["create_app"]
