"""The models an app serves: slots, loaded versions, weighted routing and atomic reloads.

A :class:`ModelSlot` names one model version on disk and its share of its name's traffic. The
:class:`ServingState` loads slots into :class:`ServedModel` objects and publishes them as an
immutable :class:`ModelTable`; a request takes the table once and keeps it, so
:meth:`ServingState.reload` (load the new versions first, then swap the table) never drops one.
"""

from __future__ import annotations

import bisect
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from shipyard.errors import InvalidArgument, NotFound, ShipyardError, Unavailable
from shipyard.serving.batching import Batcher, BatchingConfig, ModelInput, ModelOutput

logger = logging.getLogger("shipyard.serving")

INLINE_SECONDS = 0.002
"""Models whose predict takes less than this on average run on the event loop itself: a thread
hop (and the GIL hand-over) costs more than such a model. Slower ones run in a worker thread."""


class ColumnLike(Protocol):
    """One input or output column of a signature (``shipyard.flavors.ColSpec``)."""

    @property
    def name(self) -> str | None: ...
    @property
    def dtype(self) -> str: ...
    @property
    def shape(self) -> tuple[int, ...] | None: ...


class SignatureLike(Protocol):
    """A model's signature (``shipyard.flavors.Signature``)."""

    @property
    def inputs(self) -> Sequence[ColumnLike]: ...
    @property
    def outputs(self) -> Sequence[ColumnLike] | None: ...
    def coerce_inputs(self, data: Any) -> np.ndarray[Any, Any]: ...


class MetaLike(Protocol):
    """A saved model's metadata (``shipyard.flavors.ModelMeta``)."""

    @property
    def flavor(self) -> str: ...
    @property
    def signature(self) -> SignatureLike | None: ...


class PredictorLike(Protocol):
    """The framework side of a loaded model: predicts inputs already checked."""

    def predict(self, inputs: Any) -> Any: ...


class ModelLike(Protocol):
    """A loaded model (``shipyard.flavors.LoadedModel``): ``predictor`` skips the signature
    check that ``predict`` does, since the server checks (and batches) inputs itself."""

    @property
    def meta(self) -> MetaLike: ...
    @property
    def predictor(self) -> PredictorLike: ...


Loader = Callable[[Path], ModelLike]


def load_flavor_model(path: Path) -> ModelLike:
    """Load a saved model folder with :func:`shipyard.flavors.load_model`."""
    from shipyard.flavors import load_model

    return load_model(path)


@dataclass(frozen=True)
class ModelSlot:
    """One model version to serve: its name, version, folder and traffic weight.

    Several slots with the same name and different versions split that name's traffic by weight
    (a canary); a version is always reachable directly at ``/v2/models/NAME/versions/V``.
    """

    name: str
    version: str
    path: Path
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise InvalidArgument(f"model name {self.name!r} must be non-empty, without '/'")
        if not self.version or "/" in self.version:
            raise InvalidArgument(f"model version {self.version!r} must be non-empty, without '/'")
        if not self.weight >= 0:
            raise InvalidArgument(
                f"the weight of {self.name} version {self.version} must be >= 0, got {self.weight}",
                hint="weights are relative shares, e.g. 9 and 1 for a 10% canary",
            )

    @property
    def key(self) -> tuple[str, str]:
        """``(name, version)``."""
        return (self.name, self.version)


class ServedModel:
    """A loaded model version: input checks, predict (inline, threaded or batched), timings."""

    def __init__(
        self,
        slot: ModelSlot,
        model: ModelLike,
        *,
        batching: BatchingConfig | None,
        on_batch: Callable[[ServedModel, int], None],
    ) -> None:
        self.slot = slot
        self.model = model
        self._predictor = model.predictor
        self.signature = model.meta.signature
        self.columns = _input_names(self.signature)
        self.output_name = _output_name(self.signature)
        self._on_batch = on_batch
        self._avg_seconds: float | None = None  # unknown: the first call runs in a thread
        self._batcher = (
            None if batching is None else Batcher(self.predict_now, batching, inline=self._fast)
        )

    @property
    def name(self) -> str:
        """The served model name."""
        return self.slot.name

    @property
    def version(self) -> str:
        """The served version."""
        return self.slot.version

    @property
    def flavor(self) -> str:
        """The model's flavor (sklearn, xgboost, lightgbm, onnx, python)."""
        return self.model.meta.flavor

    def prepare(self, inputs: ModelInput) -> tuple[ModelInput, int]:
        """Check inputs against the signature; return what ``predict`` takes and the row count.

        Raises:
            InvalidArgument: the inputs do not match the model's input schema.
        """
        if isinstance(inputs, dict) and self.columns is None:
            inputs = self._positional(inputs)
        elif isinstance(inputs, dict) and len(inputs) == 1:
            name, only = next(iter(inputs.items()))
            if name not in (self.columns or ()):
                inputs = only  # one tensor holding every column
        data: ModelInput = inputs
        if self.signature is not None:
            data = self.signature.coerce_inputs(inputs)
        if isinstance(data, np.ndarray) and data.ndim == 1:
            data = data.reshape(-1, 1)
        return data, _rows(data)

    def _positional(self, inputs: dict[str, np.ndarray[Any, Any]]) -> ModelInput:
        """Named inputs for a model without column names: one tensor as is; columns (e.g. a
        ``dataframe_split``) side by side in the order sent, as MLflow hands a DataFrame over.
        ONNX models keep a dict: it maps to their named graph inputs."""
        values = list(inputs.values())
        if len(values) == 1:
            return values[0]
        if self.flavor == "onnx" or any(v.ndim != 1 or len(v) != len(values[0]) for v in values):
            return inputs
        return np.column_stack(values)

    def predict_now(self, data: ModelInput) -> ModelOutput:
        """Run the model on prepared inputs, in the calling thread."""
        started = time.perf_counter()
        try:
            outputs = self._predictor.predict(data)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise InvalidArgument(f"the model rejected the input: {exc}") from exc
        elapsed = time.perf_counter() - started
        avg = self._avg_seconds
        self._avg_seconds = elapsed if avg is None else 0.9 * avg + 0.1 * elapsed
        self._on_batch(self, _rows(data))
        if isinstance(outputs, dict):
            return {str(k): np.asarray(v) for k, v in outputs.items()}
        return np.asarray(outputs)

    async def infer(self, data: ModelInput, rows: int) -> ModelOutput:
        """Predict, batched when batching is on, inline for fast models, else in a thread."""
        if self._batcher is not None:
            return await self._batcher.submit(data, rows)
        if self._fast():
            return self.predict_now(data)
        return await _in_thread(self.predict_now, data)

    def _fast(self) -> bool:
        """Whether predict is fast enough to run on the event loop (see INLINE_SECONDS)."""
        avg = self._avg_seconds
        return avg is not None and avg < INLINE_SECONDS

    def named_outputs(self, outputs: ModelOutput) -> dict[str, np.ndarray[Any, Any]]:
        """Outputs as named tensors (a single array is named after the signature, or predict)."""
        if isinstance(outputs, dict):
            return outputs
        return {self.output_name: outputs}

    def close(self) -> None:
        """Release what the model holds (batches already open still finish)."""


async def _in_thread(func: Callable[[ModelInput], ModelOutput], data: ModelInput) -> ModelOutput:
    import anyio.to_thread

    return await anyio.to_thread.run_sync(func, data)


def _rows(data: ModelInput) -> int:
    if isinstance(data, dict):
        first = next(iter(data.values()), None)
        return 0 if first is None else int(np.shape(first)[0]) if np.ndim(first) else 1
    return int(data.shape[0]) if data.ndim else 1


def _input_names(signature: SignatureLike | None) -> list[str] | None:
    if signature is None:
        return None
    names = [col.name for col in signature.inputs]
    if any(name is None for name in names):
        return None
    return [str(name) for name in names]


def _output_name(signature: SignatureLike | None) -> str:
    outputs = signature.outputs if signature is not None else None
    if outputs and len(outputs) == 1 and outputs[0].name:
        return str(outputs[0].name)
    return "predict"


@dataclass(frozen=True)
class _Route:
    models: tuple[ServedModel, ...]
    cumulative: tuple[float, ...]

    def pick(self) -> ServedModel:
        total = self.cumulative[-1]
        if len(self.models) == 1 or total <= 0:
            return self.models[0] if total > 0 else random.choice(self.models)
        return self.models[bisect.bisect_right(self.cumulative, random.random() * total)]


class ModelTable:
    """An immutable snapshot of what is served: loaded versions and versions that failed."""

    def __init__(
        self,
        slots: Sequence[ModelSlot],
        loaded: dict[tuple[str, str], ServedModel],
        failed: dict[tuple[str, str], str],
    ) -> None:
        self.slots = tuple(slots)
        self.loaded = loaded
        self.failed = failed
        self._routes: dict[str, _Route] = {}
        for name in dict.fromkeys(slot.name for slot in slots):
            ready = [s for s in slots if s.name == name and s.key in loaded]
            if ready:
                weights = accumulate(s.weight for s in ready)
                models = tuple(loaded[s.key] for s in ready)
                self._routes[name] = _Route(models, tuple(weights))

    @property
    def names(self) -> list[str]:
        """Served model names, in slot order."""
        return list(dict.fromkeys(slot.name for slot in self.slots))

    @property
    def ready(self) -> bool:
        """True when at least one slot is served and every slot loaded."""
        return bool(self.slots) and not self.failed

    def versions(self, name: str) -> list[str]:
        """The versions of ``name`` (loaded or not).

        Raises:
            NotFound: no slot has this name.
        """
        versions = [slot.version for slot in self.slots if slot.name == name]
        if not versions:
            raise NotFound(
                f"model {name!r} is not served here",
                hint="served models: " + (", ".join(self.names) or "none"),
            )
        return versions

    def pick(self, name: str, version: str | None = None) -> ServedModel:
        """The model version that answers this request (by weight unless ``version`` is given).

        Raises:
            NotFound: the name or version is not served here.
            Unavailable: it failed to load, so it takes no traffic.
        """
        versions = self.versions(name)
        if version is None:
            route = self._routes.get(name)
            if route is None:
                raise Unavailable(f"model {name!r} is not ready: {self._why(name)}")
            return route.pick()
        if version not in versions:
            raise NotFound(
                f"model {name!r} has no version {version!r} here",
                hint="served versions: " + ", ".join(versions),
            )
        model = self.loaded.get((name, version))
        if model is None:
            raise Unavailable(
                f"model {name!r} version {version} is not ready: "
                f"{self.failed.get((name, version), 'not loaded')}"
            )
        return model

    def _why(self, name: str) -> str:
        reasons = [f"version {v}: {e}" for (n, v), e in self.failed.items() if n == name]
        return "; ".join(reasons) or "no version loaded"


class ServingState:
    """What an app serves right now, swapped atomically by :meth:`reload`.

    ``app.state.serving`` of :func:`shipyard.serving.app.create_serving_app` is one of these.
    """

    def __init__(
        self,
        slots: Sequence[ModelSlot],
        *,
        batching: BatchingConfig | None = None,
        loader: Loader = load_flavor_model,
        on_batch: Callable[[ServedModel, int], None] = lambda m, n: None,
        on_table: Callable[[ModelTable], None] = lambda t: None,
    ) -> None:
        _check_unique(slots)
        self.batching = batching
        self.in_flight = 0
        """Inference requests inside the app now (counted on the event loop)."""
        self._loader = loader
        self._on_batch = on_batch
        self._on_table = on_table
        self._lock = threading.Lock()
        loaded, failed = self._load(slots, {}, strict=False)
        self.table = ModelTable(slots, loaded, failed)
        on_table(self.table)

    def reload(self, slots: Sequence[ModelSlot]) -> None:
        """Serve ``slots`` instead: load new versions, then switch; requests keep flowing.

        Versions already loaded from the same folder are kept (and their batchers). If any new
        version fails to load, nothing changes and the error is raised. Thread-safe; blocking
        (call it from a worker thread inside an async handler).

        Raises:
            Unavailable: a new version failed to load (the message names it and says why).
            InvalidArgument: two slots name the same version.
        """
        _check_unique(slots)
        with self._lock:
            old = self.table
            loaded, _ = self._load(slots, old.loaded, strict=True)
            self.table = ModelTable(slots, loaded, {})
            self._on_table(self.table)
            for key, model in old.loaded.items():
                if loaded.get(key) is not model:
                    model.close()

    def close(self) -> None:
        """Stop every batcher."""
        with self._lock:
            for model in self.table.loaded.values():
                model.close()

    def _load(
        self,
        slots: Iterable[ModelSlot],
        current: dict[tuple[str, str], ServedModel],
        *,
        strict: bool,
    ) -> tuple[dict[tuple[str, str], ServedModel], dict[tuple[str, str], str]]:
        loaded: dict[tuple[str, str], ServedModel] = {}
        failed: dict[tuple[str, str], str] = {}
        for slot in slots:
            kept = current.get(slot.key)
            if kept is not None and kept.slot.path == slot.path:
                loaded[slot.key] = kept
                continue
            try:
                loaded[slot.key] = self._load_one(slot)
            except Exception as exc:  # any loader failure: the slot takes no traffic
                reason = f"failed to load from {slot.path}: {_describe(exc)}"
                logger.error("model %s version %s %s", slot.name, slot.version, reason)
                if strict:
                    for key, model in loaded.items():
                        if current.get(key) is not model:
                            model.close()
                    raise Unavailable(
                        f"model {slot.name!r} version {slot.version} {reason}",
                        hint="nothing was changed; fix the model folder and reload again",
                    ) from exc
                failed[slot.key] = reason
        return loaded, failed

    def _load_one(self, slot: ModelSlot) -> ServedModel:
        model = self._loader(slot.path)
        return ServedModel(
            slot,
            model,
            batching=self.batching,
            on_batch=self._on_batch,
        )


def _describe(exc: Exception) -> str:
    if isinstance(exc, ShipyardError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def _check_unique(slots: Sequence[ModelSlot]) -> None:
    seen: set[tuple[str, str]] = set()
    for slot in slots:
        if slot.key in seen:
            raise InvalidArgument(
                f"model {slot.name!r} version {slot.version} is listed twice",
                hint="give each version one slot; weights split traffic between versions",
            )
        seen.add(slot.key)
