"""``shipyard-model.yaml``: what a saved model folder holds and what it needs to load."""

from __future__ import annotations

import functools
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from shipyard.errors import InvalidArgument, NotFound
from shipyard.flavors._signature import Signature

MODEL_FILE = "shipyard-model.yaml"
"""The file that makes a folder a Shipyard model."""

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class ModelMeta:
    """The contents of ``shipyard-model.yaml``.

    ``requirements`` are pip requirements (``scikit-learn==1.5.2``) of the installed packages the
    flavor needs; ``extra`` holds flavor details (file names, the class of a Python model...).
    """

    flavor: str
    signature: Signature | None = None
    requirements: list[str] = field(default_factory=list)
    python_version: str = field(default_factory=platform.python_version)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain form, as written to the YAML file."""
        return {
            "format_version": FORMAT_VERSION,
            "flavor": self.flavor,
            "signature": None if self.signature is None else self.signature.to_dict(),
            "requirements": list(self.requirements),
            "python_version": self.python_version,
            "created_at": self.created_at,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelMeta:
        """Inverse of :meth:`to_dict`; raises ``InvalidArgument`` for a malformed file."""
        flavor = data.get("flavor")
        if not isinstance(flavor, str) or not flavor:
            raise InvalidArgument(
                f"{MODEL_FILE} names no flavor", hint="save the model with shipyard.log_model"
            )
        signature = data.get("signature")
        return cls(
            flavor=flavor,
            signature=None if signature is None else Signature.from_dict(signature),
            requirements=[str(r) for r in data.get("requirements") or []],
            python_version=str(data.get("python_version", "")),
            created_at=str(data.get("created_at", "")),
            extra=dict(data.get("extra") or {}),
        )

    def write(self, folder: Path) -> None:
        """Write ``shipyard-model.yaml`` into ``folder``."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        (folder / MODEL_FILE).write_text(text, encoding="utf-8")

    @classmethod
    def read(cls, folder: Path) -> ModelMeta:
        """Read ``shipyard-model.yaml`` from ``folder``. Raises ``NotFound``/``InvalidArgument``."""
        path = folder / MODEL_FILE
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFound(
                f"{str(folder)!r} holds no {MODEL_FILE}",
                hint="pass the folder of a model saved by shipyard (run.log_model)",
            ) from None
        except yaml.YAMLError as exc:
            raise InvalidArgument(f"{path} is not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidArgument(f"{path} is not a mapping", hint="restore the saved file")
        return cls.from_dict(data)


@functools.cache
def _providers() -> Mapping[str, list[str]]:
    """Top-level module -> distributions that provide it (scanning them all takes ~1 s, so once
    per process: packages installed later need a restart to be recorded)."""
    return metadata.packages_distributions()


def requirements_of(modules: Iterable[str]) -> list[str]:
    """Pinned requirements (``dist==version``) of the installed distributions that provide the
    given top-level modules; modules that no distribution provides are skipped."""
    providers = _providers()
    found: dict[str, str] = {}
    for module in modules:
        for dist in providers.get(module.split(".")[0], []):
            try:
                found.setdefault(dist.lower(), f"{dist}=={metadata.version(dist)}")
            except metadata.PackageNotFoundError:  # pragma: no cover - stale metadata
                continue
    return sorted(found.values(), key=str.lower)
