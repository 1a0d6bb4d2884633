"""What the jobs table keeps of a submission (``Job.spec``): the executor's job spec without the
tracking credentials, where the code runs, and how to reach the executor again.

``code`` says where the command runs:

* ``snapshot``: in a fresh clone of the captured commit with the uncommitted patch applied
  (``workdir``, made by whoever launches the attempt: the submitter, or the agent);
* ``in_place``: in ``origin``, the folder it was submitted from (local jobs of a clean tree, a
  folder outside git, or ``--in-place``);
* ``image``: in the container image (Kubernetes), which holds the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from shipyard.errors import InvalidArgument
from shipyard.executors.base import JobSpec

CodeMode = Literal["snapshot", "in_place", "image"]
CODE_MODES: tuple[CodeMode, ...] = ("snapshot", "in_place", "image")


@dataclass(frozen=True, slots=True)
class Submission:
    """A job's stored submission (see the module docstring).

    ``spec.cwd`` is the folder the command runs in when it is known at submission (direct
    jobs); ``cwd_relative`` is where it runs inside a snapshot (the submitter's folder relative
    to the repository root).
    """

    spec: JobSpec
    code: CodeMode = "in_place"
    origin: str | None = None
    cwd_relative: str = "."
    workdir: str | None = None
    host: str | None = None
    state_dir: str | None = None
    ray_address: str | None = None
    namespace: str = "default"
    image: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON kept in ``Job.spec`` (the inverse of :meth:`from_dict`)."""
        return {
            "spec": self.spec.to_dict(),
            "code": self.code,
            "origin": self.origin,
            "cwd_relative": self.cwd_relative,
            "workdir": self.workdir,
            "host": self.host,
            "state_dir": self.state_dir,
            "ray_address": self.ray_address,
            "namespace": self.namespace,
            "image": self.image,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Submission:
        """Read a submission written by :meth:`to_dict`. Raises ``InvalidArgument`` when it is
        not one (a job recorded by another tool)."""
        try:
            stored = data["spec"]
            if not isinstance(stored, Mapping):
                raise TypeError("spec")
            spec = JobSpec.from_dict(stored)
            code = data.get("code") or "in_place"
            if code not in CODE_MODES:
                raise KeyError(code)
            return cls(
                spec=spec,
                code=code,
                origin=data.get("origin"),
                cwd_relative=str(data.get("cwd_relative") or "."),
                workdir=data.get("workdir"),
                host=data.get("host"),
                state_dir=data.get("state_dir"),
                ray_address=data.get("ray_address"),
                namespace=str(data.get("namespace") or "default"),
                image=data.get("image"),
            )
        except (KeyError, TypeError, InvalidArgument) as exc:
            raise InvalidArgument(
                f"the job's stored spec is not a Shipyard submission ({exc})",
                hint="this job was recorded by another tool; manage it there",
            ) from None
