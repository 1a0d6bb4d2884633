"""Reproducibility: compare two runs (:mod:`~shipyard.repro.diff`) and rebuild a run from its record
(:mod:`~shipyard.repro.reproduce`).

Rule: everything here reads runs through the small :class:`~shipyard.repro.source.RunSource`
protocol, so that the hub server (over its own stores) and the SDK (over a ``Client``) share one
implementation. Only :mod:`~shipyard.repro.reproduce` and :mod:`~shipyard.repro.client_source`
import the SDK; :mod:`~shipyard.repro.diff` never does, because the server imports it. This
``__init__`` imports nothing, so that importing the diff does not pull in the SDK.
"""
