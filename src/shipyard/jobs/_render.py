"""``--dry-run``: what a submission would hand its executor, without creating anything."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import yaml

from shipyard.executors.base import JobSpec
from shipyard.jobs.request import DEFAULT_IMAGE, JobRequest
from shipyard.sdk._process import child_environment
from shipyard.settings import Settings

SECRET_VARIABLES = ("SHIPYARD_TOKEN", "SHIPYARD_RUN_ID")
"""Left out of a dry run: the token is a secret, the run id does not exist yet."""


def dry_run(settings: Settings, request: JobRequest) -> str:
    """The Kubernetes manifests (YAML documents) of a ``kubernetes`` request; else the executor
    name and job spec as JSON. Both show the tracking variables the job would get (but not the
    token, nor ``SHIPYARD_RUN_ID``, which submission adds)."""
    name = request.executor_name()
    spec = preview_spec(settings, request)
    if name == "kubernetes":
        from shipyard.executors.kubernetes import render_manifests

        manifests = render_manifests(
            spec, image=request.image or DEFAULT_IMAGE, namespace=request.namespace
        )
        return yaml.safe_dump_all(manifests, sort_keys=False)
    document = {"executor": name, "queue": request.queue, "spec": spec.to_dict()}
    return json.dumps(document, indent=2)


def preview_spec(settings: Settings, request: JobRequest) -> JobSpec:
    """The request's job spec with the tracking variables a job gets (secrets left out)."""
    spec = request.job_spec()
    tracking = child_environment(settings, "preview", {}, Path.cwd())
    for variable in SECRET_VARIABLES:
        tracking.pop(variable, None)
    cwd = None if request.executor_name() == "kubernetes" else str(request.origin())
    return dataclasses.replace(spec, cwd=cwd, env={**spec.env, **tracking})
