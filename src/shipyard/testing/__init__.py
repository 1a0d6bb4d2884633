"""Contract suites and helpers for testing Shipyard backends.

Used by our own tests and by authors of store or artifact plugins.
"""
