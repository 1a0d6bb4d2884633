"""A tiny torch DistributedDataParallel training on CPU (gloo backend), tracked as one job run.

Run it as a multi-worker job; the executor starts one process per rank with the standard
rendezvous variables (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK), so
``init_process_group`` needs no arguments::

    shipyard jobs submit --workers 2 --follow -- python examples/ddp_gloo.py
    shipyard jobs submit --workers 2 --executor ray --ray-address http://HEAD:8265 -- python ...

Every rank gets ``SHIPYARD_RUN_ID``, so ``shipyard.start_run()`` continues the job's run in each
of them: rank 0 logs the params, the averaged loss and the learned weights; every rank logs how
many samples it trained on. The model learns ``y = 3x + 1`` from noisy points, each rank on its own
shard; DDP averages the gradients, so all ranks hold the same weights at the end.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import shipyard

EPOCHS = 60
LR = 0.1
SAMPLES = 512


def data() -> tuple[torch.Tensor, torch.Tensor]:
    """The same noisy points on every rank (a fixed seed): y = 3x + 1 + noise."""
    generator = torch.Generator().manual_seed(1234)
    x = torch.randn(SAMPLES, 1, generator=generator)
    y = 3 * x + 1 + 0.1 * torch.randn(SAMPLES, 1, generator=generator)
    return x, y


def train(run: shipyard.Run, rank: int, world: int) -> None:
    """Full-batch SGD on this rank's shard; DDP averages the gradients across ranks."""
    torch.manual_seed(0)  # the same initial weights everywhere (DDP also broadcasts rank 0's)
    x, y = data()
    shard_x, shard_y = x[rank::world], y[rank::world]
    model = DistributedDataParallel(torch.nn.Linear(1, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    for epoch in range(EPOCHS):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(shard_x), shard_y)
        loss.backward()
        optimizer.step()
        mean_loss = loss.detach().clone()
        dist.all_reduce(mean_loss)  # summed over ranks
        if rank == 0:
            run.log_metrics({"loss": mean_loss.item() / world}, step=epoch)
    run.log_metrics({f"rank{rank}/samples": float(len(shard_x))}, step=0)
    if rank == 0:
        weight, bias = model.module.weight.item(), model.module.bias.item()
        run.log_metrics({"weight": weight, "bias": bias}, step=EPOCHS)
        print(f"learned y = {weight:.3f}x + {bias:.3f} on {world} workers")


def main() -> None:
    """Join the group, train, and leave only once every rank has logged."""
    dist.init_process_group("gloo")  # env:// rendezvous from the executor's variables
    rank, world = dist.get_rank(), dist.get_world_size()
    try:
        with shipyard.start_run() as run:
            if rank == 0:
                run.log_params({"world_size": world, "lr": LR, "epochs": EPOCHS, "backend": "gloo"})
            train(run, rank, world)
            dist.barrier()  # no rank ends the run while another still logs to it
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
