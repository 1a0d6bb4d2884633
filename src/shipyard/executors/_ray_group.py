"""The multi-worker half of the Ray entrypoint: a placement group and one actor per rank.

Runs inside the Ray job's driver (``_ray_workers``), which is why it may call ``ray.init()``
with no address: Ray Jobs sets ``RAY_ADDRESS`` for the driver.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from shipyard.executors._process import describe_exit, install_stop_handler
from shipyard.executors._ray_rank import RankProcess
from shipyard.executors.base import rendezvous_env

if TYPE_CHECKING:
    from shipyard.executors._ray_workers import Options, Stop

POLL_S = 0.05
EXIT_RANK_LOST = 1
WAITING_NOTICE_S = 5.0


def run_group(options: Options, stop: Stop, deadline: float | None) -> tuple[int | None, str]:
    """Run every rank; return ``(exit code, why)``, or ``(None, "")`` if stopped or timed out."""
    import ray
    from ray.util.placement_group import placement_group, remove_placement_group

    ray.init(log_to_driver=False, logging_level=logging.ERROR)
    install_stop_handler(stop.set)  # after ray.init, which may install its own handlers
    bundles = [bundle_of(options)] * options.workers
    group = placement_group(bundles, strategy=options.strategy)
    try:
        if not _wait_ready(group, stop, deadline, bundles):
            return None, ""
        return _Ranks(options, group).run(stop, deadline)
    finally:
        remove_placement_group(group)
        ray.shutdown()


def bundle_of(options: Options) -> dict[str, float]:
    """One rank's placement group bundle (a CPU by default: a bundle cannot be empty)."""
    bundle = {"CPU": options.cpus or 1.0}
    if options.gpus:
        bundle["GPU"] = options.gpus
    if options.memory_bytes:
        bundle["memory"] = float(options.memory_bytes)
    return bundle


def _wait_ready(group: Any, stop: Stop, deadline: float | None, bundles: list[Any]) -> bool:
    import ray

    ready = group.ready()
    notice_at = time.monotonic() + WAITING_NOTICE_S
    while stop.signum is None and not _past(deadline):
        done, _ = ray.wait([ready], timeout=0.5)
        if done:
            return True
        if notice_at and time.monotonic() >= notice_at:
            _say(f"shipyard: waiting for resources: {len(bundles)} x {bundles[0]}")
            notice_at = 0.0
    return False


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def local_ranks(nodes: list[str]) -> list[tuple[int, int, int]]:
    """``(local rank, local world size, node rank)`` of each rank, from each rank's node id."""
    order = list(dict.fromkeys(nodes))
    counts = {node: nodes.count(node) for node in order}
    seen: dict[str, int] = {}
    result = []
    for node in nodes:
        result.append((seen.get(node, 0), counts[node], order.index(node)))
        seen[node] = seen.get(node, 0) + 1
    return result


class _Ranks:
    """The rank actors of one job and their output."""

    def __init__(self, options: Options, group: Any) -> None:
        import ray
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        self.options = options
        bundle = bundle_of(options)
        actor = ray.remote(RankProcess)
        self.actors: list[Any] = [
            actor.options(
                num_cpus=bundle["CPU"],
                num_gpus=bundle.get("GPU", 0),
                memory=bundle.get("memory"),
                max_concurrency=2,  # stop() runs while run() streams
                scheduling_strategy=PlacementGroupSchedulingStrategy(
                    group, placement_group_bundle_index=rank
                ),
            ).remote()
            for rank in range(options.workers)
        ]
        self.codes: list[int | None] = [None] * options.workers
        self.lock = threading.Lock()

    def run(self, stop: Stop, deadline: float | None) -> tuple[int | None, str]:
        """Start every rank, watch them, stop the rest; return ``(exit code, why)``."""
        import ray

        places = ray.get([actor.where.remote() for actor in self.actors])
        port = ray.get(self.actors[0].free_port.remote())
        readers = [self._start(rank, env) for rank, env in enumerate(self._envs(places, port))]
        result = self._watch(stop, deadline)
        self._stop_all()
        for reader in readers:
            reader.join(timeout=self.options.grace_s + 5)
        return result

    def _envs(self, places: list[tuple[str, str]], port: int) -> Iterable[dict[str, str]]:
        addr = places[0][1]
        for rank, (local, local_size, node_rank) in enumerate(local_ranks([p[0] for p in places])):
            yield rendezvous_env(
                addr=addr,
                port=port,
                world_size=len(places),
                rank=rank,
                local_rank=local,
                local_world_size=local_size,
                node_rank=node_rank,
            )

    def _start(self, rank: int, env: dict[str, str]) -> threading.Thread:
        stream = (
            self.actors[rank]
            .run.options(num_returns="streaming")
            .remote(self.options.command, self.options.cwd, env)
        )
        thread = threading.Thread(target=self._read, args=(rank, stream), daemon=True)
        thread.start()
        return thread

    def _read(self, rank: int, stream: Any) -> None:
        import ray

        prefix = f"[rank {rank}] "
        try:
            for ref in stream:
                item = ray.get(ref)
                if isinstance(item, int):
                    self.codes[rank] = item
                    continue
                with self.lock:
                    sys.stdout.write("".join(f"{prefix}{line}\n" for line in item))
                    sys.stdout.flush()
        except ray.exceptions.RayError as exc:
            if self.codes[rank] is None:
                _say(f"shipyard: rank {rank} was lost: {type(exc).__name__}")
                self.codes[rank] = EXIT_RANK_LOST

    def _watch(self, stop: Stop, deadline: float | None) -> tuple[int | None, str]:
        while stop.signum is None and not _past(deadline):
            for rank, code in enumerate(self.codes):
                if code is not None and code != 0:
                    return code, f"rank {rank} {describe_exit(code)}; stopped the other ranks"
            if all(code == 0 for code in self.codes):
                return 0, ""
            time.sleep(POLL_S)
        return None, ""

    def _stop_all(self) -> None:
        import ray

        grace = self.options.grace_s
        stops = [actor.stop.remote(grace) for actor in self.actors]
        # an actor that cannot answer dies with the job's driver anyway
        with contextlib.suppress(ray.exceptions.RayError, TimeoutError):
            ray.get(stops, timeout=grace + 5)
