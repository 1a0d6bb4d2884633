"""The hub's workflow routes over HTTP, and the whole store an engine needs to run against a hub.

The hub only records workflow state; the engine runs where the CLI, a CI runner or the workflow
daemon runs. :class:`HttpWorkflowReader` reads workflow runs, their jobs and their output, and
cancels; :class:`HttpWorkflowStore` adds the writes of an engine (the
:class:`~shipyard.store.workflows.WorkflowStore` protocol). :class:`HttpEngineStore` joins runs,
datasets, the registry and workflows on one connection, and :func:`open_hub_engine` gives it with
an artifact store on the hub: what ``shipyard ci run`` uses with
``SHIPYARD_TRACKING_URI=http://hub``. Jobs then run locally and everything is recorded on the hub.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from shipyard.api import workflows as api
from shipyard.api.routes import url
from shipyard.api.workflows import (
    LogLines,
    WorkflowJobFound,
    WorkflowJobOut,
    WorkflowJobPatch,
    WorkflowRunCreate,
    WorkflowRunList,
    WorkflowRunOut,
    WorkflowStatusIn,
)
from shipyard.domain.datasets import Dataset, DatasetUsage, DatasetVersion, ManifestEntry
from shipyard.domain.models import ModelVersion, RegisteredModel
from shipyard.domain.workflows import (
    StepStatus,
    TriggerEvent,
    WorkflowJob,
    WorkflowRun,
    WorkflowStatus,
)
from shipyard.errors import InvalidArgument
from shipyard.sdk._http_blob_store import HttpArtifactStore
from shipyard.sdk._http_datasets import HttpDatasetStore
from shipyard.sdk._http_registry import HttpRegistryStore
from shipyard.sdk._http_store import HttpRunStore, wire
from shipyard.sdk.credentials import load_token
from shipyard.settings import Settings


class HttpWorkflowReader:
    """Workflow runs on a Shipyard hub.

    Example::

        reader = HttpWorkflowReader(HttpRunStore("http://127.0.0.1:8080"))
        for run in reader.list_workflow_runs(project="iris"):
            print(run.id, run.status)
    """

    def __init__(self, http: HttpRunStore) -> None:
        self._http = http

    def list_workflow_runs(
        self, *, project: str | None = None, name: str | None = None, limit: int = 100
    ) -> Sequence[WorkflowRun]:
        """Workflow runs newest first, optionally of one project or workflow name."""
        params: dict[str, Any] = {"limit": limit}
        if project is not None:
            params["project"] = project
        if name is not None:
            params["name"] = name
        response = self._http.request("GET", api.WORKFLOW_RUNS, params=params)
        found = WorkflowRunList.model_validate_json(response.content).workflow_runs
        return [run.to_domain() for run in found]

    def get_workflow_run(self, workflow_run_id: str) -> WorkflowRun:
        """A workflow run. Raises ``NotFound``."""
        return self._read(workflow_run_id).to_domain()

    def list_workflow_jobs(self, workflow_run_id: str) -> Sequence[WorkflowJob]:
        """The jobs of a workflow run in declaration order. Raises ``NotFound``."""
        return [job.to_domain() for job in self._read(workflow_run_id).jobs]

    def request_workflow_cancel(self, workflow_run_id: str) -> WorkflowRun:
        """Ask the engine running it to stop (a pending run ends at once)."""
        path = url(api.WORKFLOW_RUN_CANCEL, workflow_run_id=workflow_run_id)
        response = self._http.request("POST", path)
        return WorkflowRunOut.model_validate_json(response.content).to_domain()

    def job_logs(self, workflow_run_id: str, job: str) -> list[str]:
        """The stored output lines of a job that ran. Raises ``NotFound``."""
        path = url(api.WORKFLOW_JOB_LOGS, workflow_run_id=workflow_run_id, job=job)
        return LogLines.model_validate_json(self._http.request("GET", path).content).lines

    def _read(self, workflow_run_id: str) -> WorkflowRunOut:
        path = url(api.WORKFLOW_RUN, workflow_run_id=workflow_run_id)
        return WorkflowRunOut.model_validate_json(self._http.request("GET", path).content)


class HttpWorkflowStore(HttpWorkflowReader):
    """The :class:`~shipyard.store.workflows.WorkflowStore` protocol over HTTP: the reads, plus
    the writes of an engine that records on the hub (needs write access to the project).

    Example::

        workflows = HttpWorkflowStore(HttpRunStore("http://127.0.0.1:8080", token=TOKEN))
        run = workflows.create_workflow_run(name="train", project="iris", jobs=["prep"])
    """

    def create_workflow_run(
        self,
        *,
        name: str,
        project: str,
        jobs: Sequence[str],
        path: str = "",
        spec: str = "",
        commit: str = "",
        params: Mapping[str, Any] | None = None,
        trigger: TriggerEvent | None = None,
        user: str = "",
        retry_of: str | None = None,
    ) -> WorkflowRun:
        """Record a ``PENDING`` workflow run and a ``PENDING`` row for each of ``jobs``."""
        body = wire(
            WorkflowRunCreate, name=name, project=project, jobs=list(jobs), path=path, spec=spec,
            commit=commit, params=dict(params or {}), user=user, retry_of=retry_of,
            trigger=None if trigger is None else trigger.to_dict(),
        )  # fmt: skip
        response = self._http.request("POST", api.WORKFLOW_RUNS, body=body)
        return WorkflowRunOut.model_validate_json(response.content).to_domain()

    def set_workflow_status(
        self, workflow_run_id: str, status: WorkflowStatus, *, message: str | None = None
    ) -> WorkflowRun:
        """Move a workflow run to ``status``. Raises ``Conflict`` when it has ended."""
        body = wire(WorkflowStatusIn, status=status, message=message)
        path = url(api.WORKFLOW_RUN_STATUS, workflow_run_id=workflow_run_id)
        response = self._http.request("POST", path, body=body)
        return WorkflowRunOut.model_validate_json(response.content).to_domain()

    def update_workflow_job(
        self,
        workflow_run_id: str,
        name: str,
        *,
        status: StepStatus | None = None,
        run_id: str | None = None,
        cache_key: str | None = None,
        reason: str | None = None,
        message: str | None = None,
        outputs: Mapping[str, str] | None = None,
        fingerprint: Mapping[str, Any] | None = None,
        attempt: int | None = None,
    ) -> WorkflowJob:
        """Change the given fields of one job. Raises ``NotFound`` for an unknown job."""
        given = {
            "status": status, "run_id": run_id, "cache_key": cache_key, "reason": reason,
            "message": message, "attempt": attempt,
            "outputs": None if outputs is None else dict(outputs),
            "fingerprint": None if fingerprint is None else dict(fingerprint),
        }  # fmt: skip
        body = wire(WorkflowJobPatch, **{k: v for k, v in given.items() if v is not None})
        path = url(api.WORKFLOW_JOB, workflow_run_id=workflow_run_id, job=_job_name(name))
        content = body.model_dump_json(exclude_unset=True).encode()
        response = self._http.request("PATCH", path, body=content)
        return WorkflowJobOut.model_validate_json(response.content).to_domain()

    def find_cached_job(self, project: str, cache_key: str) -> WorkflowJob | None:
        """The newest job of ``project`` that ran and succeeded with ``cache_key``."""
        params = {"project": project, "cache_key": cache_key}
        return self._found(api.WORKFLOW_CACHED_JOB, params)

    def find_previous_job(self, project: str, workflow: str, job: str) -> WorkflowJob | None:
        """The newest job ``job`` of workflow ``workflow`` in ``project`` that succeeded."""
        params = {"project": project, "workflow": workflow, "job": job}
        return self._found(api.WORKFLOW_PREVIOUS_JOB, params)

    def _found(self, path: str, params: dict[str, str]) -> WorkflowJob | None:
        response = self._http.request("GET", path, params=params)
        found = WorkflowJobFound.model_validate_json(response.content).job
        return None if found is None else found.to_domain()


def _job_name(name: str) -> str:
    """A job name safe in a URL path segment (the store refuses anything else anyway)."""
    if not name or "/" in name or name in (".", "..") or not name.isprintable():
        raise InvalidArgument(f"invalid job name {name!r}", hint="see the workflow's jobs")
    return name


class HttpEngineStore(HttpRunStore):
    """Everything the workflow engine reads and writes, on a hub: runs (this class is an
    :class:`HttpRunStore`), datasets, the model registry and workflow runs.

    Example::

        store = HttpEngineStore("http://127.0.0.1:8080", token=TOKEN)
        start_workflow(store, HttpArtifactStore(store), Path("train.yaml"), wait=True)
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(base_url, token=token, timeout=timeout, client=client)
        self.datasets = HttpDatasetStore(self)
        self.registry = HttpRegistryStore(self)
        self.workflows = HttpWorkflowStore(self)

    # -- datasets ----------------------------------------------------------------------------
    def create_dataset_version(
        self, name: str, entries: Sequence[ManifestEntry], message: str = "", user: str = ""
    ) -> DatasetVersion:
        """Record a dataset version whose blobs are on the hub."""
        return self.datasets.create_dataset_version(name, entries, message, user)

    def list_datasets(self) -> Sequence[Dataset]:
        """Every dataset."""
        return self.datasets.list_datasets()

    def list_dataset_versions(self, name: str) -> Sequence[DatasetVersion]:
        """The versions of a dataset."""
        return self.datasets.list_dataset_versions(name)

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        """One dataset version (the latest by default). Raises ``NotFound``."""
        return self.datasets.get_dataset_version(name, version)

    def get_manifest(self, name: str, version: int | None = None) -> Sequence[ManifestEntry]:
        """The files of a dataset version."""
        return self.datasets.get_manifest(name, version)

    def runs_using_dataset(self, name: str, version: int | None = None) -> Sequence[DatasetUsage]:
        """The runs that read or wrote a dataset (version)."""
        return self.datasets.runs_using_dataset(name, version)

    # -- registry ----------------------------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        *,
        project: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        """Create a registered model. Raises ``AlreadyExists``."""
        return self.registry.create_registered_model(
            name, project=project, description=description, tags=tags
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model. Raises ``NotFound``."""
        return self.registry.get_registered_model(name)

    def list_registered_models(self, *, project: str | None = None) -> Sequence[RegisteredModel]:
        """Registered models, optionally of one project."""
        return self.registry.list_registered_models(project=project)

    def update_registered_model(self, name: str, *, description: str) -> RegisteredModel:
        """Change a registered model's description."""
        return self.registry.update_registered_model(name, description=description)

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model with its versions."""
        self.registry.delete_registered_model(name)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set a tag of a registered model."""
        self.registry.set_registered_model_tag(name, key, value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag of a registered model."""
        self.registry.delete_registered_model_tag(name, key)

    def create_model_version(
        self,
        name: str,
        *,
        run_id: str | None,
        source: str,
        flavor: str,
        signature: Mapping[str, Any] | None = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        created_by: str = "",
    ) -> ModelVersion:
        """Register the next version of a model."""
        return self.registry.create_model_version(
            name, run_id=run_id, source=source, flavor=flavor, signature=signature,
            description=description, tags=tags, created_by=created_by,
        )  # fmt: skip

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """One model version. Raises ``NotFound``."""
        return self.registry.get_model_version(name, version)

    def list_model_versions(self, name: str) -> Sequence[ModelVersion]:
        """The versions of a model."""
        return self.registry.list_model_versions(name)

    def update_model_version(self, name: str, version: int, *, description: str) -> ModelVersion:
        """Change a version's description."""
        return self.registry.update_model_version(name, version, description=description)

    def delete_model_version(self, name: str, version: int) -> None:
        """Delete a version."""
        self.registry.delete_model_version(name, version)

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set a tag of a version."""
        self.registry.set_model_version_tag(name, version, key, value)

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        """Remove a tag of a version."""
        self.registry.delete_model_version_tag(name, version, key)

    def set_model_alias(self, name: str, alias: str, version: int) -> int | None:
        """Point an alias at a version through the hub (audited there); the version before."""
        return self.registry.set_model_alias(name, alias, version)

    def delete_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        self.registry.delete_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at. Raises ``NotFound``."""
        return self.registry.get_model_version_by_alias(name, alias)

    # -- workflows ---------------------------------------------------------------------------
    def create_workflow_run(
        self,
        *,
        name: str,
        project: str,
        jobs: Sequence[str],
        path: str = "",
        spec: str = "",
        commit: str = "",
        params: Mapping[str, Any] | None = None,
        trigger: TriggerEvent | None = None,
        user: str = "",
        retry_of: str | None = None,
    ) -> WorkflowRun:
        """Record a ``PENDING`` workflow run with its pending jobs."""
        return self.workflows.create_workflow_run(
            name=name, project=project, jobs=jobs, path=path, spec=spec, commit=commit,
            params=params, trigger=trigger, user=user, retry_of=retry_of,
        )  # fmt: skip

    def get_workflow_run(self, workflow_run_id: str) -> WorkflowRun:
        """A workflow run. Raises ``NotFound``."""
        return self.workflows.get_workflow_run(workflow_run_id)

    def list_workflow_runs(
        self, *, project: str | None = None, name: str | None = None, limit: int = 100
    ) -> Sequence[WorkflowRun]:
        """Workflow runs newest first."""
        return self.workflows.list_workflow_runs(project=project, name=name, limit=limit)

    def set_workflow_status(
        self, workflow_run_id: str, status: WorkflowStatus, *, message: str | None = None
    ) -> WorkflowRun:
        """Move a workflow run forward. Raises ``Conflict`` when it has ended."""
        return self.workflows.set_workflow_status(workflow_run_id, status, message=message)

    def request_workflow_cancel(self, workflow_run_id: str) -> WorkflowRun:
        """Ask whoever runs it to stop."""
        return self.workflows.request_workflow_cancel(workflow_run_id)

    def list_workflow_jobs(self, workflow_run_id: str) -> Sequence[WorkflowJob]:
        """The jobs of a workflow run."""
        return self.workflows.list_workflow_jobs(workflow_run_id)

    def update_workflow_job(
        self,
        workflow_run_id: str,
        name: str,
        *,
        status: StepStatus | None = None,
        run_id: str | None = None,
        cache_key: str | None = None,
        reason: str | None = None,
        message: str | None = None,
        outputs: Mapping[str, str] | None = None,
        fingerprint: Mapping[str, Any] | None = None,
        attempt: int | None = None,
    ) -> WorkflowJob:
        """Change the given fields of one job."""
        return self.workflows.update_workflow_job(
            workflow_run_id, name, status=status, run_id=run_id, cache_key=cache_key,
            reason=reason, message=message, outputs=outputs, fingerprint=fingerprint,
            attempt=attempt,
        )  # fmt: skip

    def find_cached_job(self, project: str, cache_key: str) -> WorkflowJob | None:
        """A reusable job with this cache key (asked of the hub)."""
        return self.workflows.find_cached_job(project, cache_key)

    def find_previous_job(self, project: str, workflow: str, job: str) -> WorkflowJob | None:
        """The last success of a job (asked of the hub)."""
        return self.workflows.find_previous_job(project, workflow, job)

    def job_logs(self, workflow_run_id: str, job: str) -> list[str]:
        """The stored output lines of a job that ran."""
        return self.workflows.job_logs(workflow_run_id, job)


def open_hub_engine(settings: Settings) -> tuple[HttpEngineStore, HttpArtifactStore]:
    """The engine's store and artifact store on the hub ``settings.tracking_uri`` names, with
    ``settings.token`` (else the token ``shipyard login`` saved for it). Close the store."""
    if not settings.tracking_uri or not settings.is_remote:
        raise InvalidArgument(
            "no hub address to connect to", hint="set SHIPYARD_TRACKING_URI=http://host:port"
        )
    token = settings.token or load_token(settings.tracking_uri, settings.credentials_file)
    store = HttpEngineStore(settings.tracking_uri, token=token, timeout=settings.http_timeout)
    return store, HttpArtifactStore(store)
