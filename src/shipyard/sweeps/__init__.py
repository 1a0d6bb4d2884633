"""Hyperparameter sweeps. Rule: Optuna does every search and every pruning decision (no search
algorithm is written here), and every trial is a Shipyard run under the sweep's parent run.

``spec`` reads and validates sweep specs; ``engine`` drives a sweep (commands through an
executor, or a Python objective in this process); ``status`` reads sweeps back.
"""

from __future__ import annotations

from shipyard.sweeps._located import SweepSpecError
from shipyard.sweeps._objective import Objective, Pruned, SweepTrial
from shipyard.sweeps.api import as_spec, sweep
from shipyard.sweeps.engine import run_sweep
from shipyard.sweeps.result import SweepListing, SweepProgress, SweepResult, TrialSummary
from shipyard.sweeps.spec import (
    EarlyStop,
    Metric,
    Parameter,
    SweepSpec,
    load_spec,
    parse_spec,
)
from shipyard.sweeps.status import list_sweeps, sweep_status

__all__ = [
    "EarlyStop",
    "Metric",
    "Objective",
    "Parameter",
    "Pruned",
    "SweepListing",
    "SweepProgress",
    "SweepResult",
    "SweepSpec",
    "SweepSpecError",
    "SweepTrial",
    "TrialSummary",
    "as_spec",
    "list_sweeps",
    "load_spec",
    "parse_spec",
    "run_sweep",
    "sweep",
    "sweep_status",
]
