"""MLflow side of the search benchmark: ``MlflowClient.search_runs`` through the server."""

from __future__ import annotations

import argparse
import time

from _common import emit, log, parser, summarize
from mlflow.tracking import MlflowClient

WARMUP = 3


def main() -> None:
    """Run the same query ``--reps`` times and print the latency and the first page's names."""
    args = _args()
    client = MlflowClient(tracking_uri=args.uri)
    experiment = client.get_experiment_by_name(args.experiment)
    if experiment is None:
        raise SystemExit(f"no experiment {args.experiment!r}")

    def query() -> list[str]:
        runs = client.search_runs(
            [experiment.experiment_id],
            filter_string=args.filter,
            order_by=[args.order_by],
            max_results=args.limit,
        )
        return [run.info.run_name for run in runs]

    for _ in range(WARMUP):
        names = query()
    log(f"{args.reps} searches")
    samples = []
    for _ in range(args.reps):
        start = time.perf_counter()
        names = query()
        samples.append((time.perf_counter() - start) * 1000)
    emit({"latency_ms": summarize(samples, "ms"), "rows": len(names), "names": names})


def _args() -> argparse.Namespace:
    p = parser(__doc__ or "")
    p.add_argument("--experiment", required=True)
    p.add_argument("--filter", required=True)
    p.add_argument("--order-by", required=True)
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--reps", type=int, required=True)
    return p.parse_args()


if __name__ == "__main__":
    main()
