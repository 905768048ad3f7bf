"""Checkpoint intervals, expected effective training time, and checkpoint write/read times by storage tier.

Optimal intervals, with δ the training time a checkpoint costs and M the job's mean time to failure:
  Young (1974):  τ = sqrt(2 δ M)
  Daly (2006):   τ = sqrt(2 δ M) · [1 + (1/3)·sqrt(δ/(2M)) + (1/9)·(δ/(2M))] − δ   for δ < 2M, else τ = M
Daly's model (exponential failures, which may strike during checkpoints and restarts, restart time R)
gives the expected wall time per unit of work exactly:  T_w / T_s = M·e^{R/M}·(e^{(τ+δ)/M} − 1) / τ.

Meta's expected effective training time ratio (Kokolis et al., arXiv 2410.21680; DESIGN 4.5), with N nodes
failing at r_f each, u0 the time a failure costs before training resumes, w_cp the training time one
checkpoint costs and Δt_cp the interval:
  E[ETTR] ≈ [1 − N·r_f·(u0 + Δt_cp/2)] / (1 + w_cp/Δt_cp),   optimum Δt_cp* = sqrt(2·w_cp / (N·r_f))
ETTR is productive training time over wall time (time lost to restarts, to work redone since the last
checkpoint and to checkpoint writes is not productive).

Checkpoint size is an input (the training workload knows its bytes per GPU under its sharding). Times here
are seconds, bandwidths B/s, sizes bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gigawatt.reliability.components import catalog_value
from gigawatt.reliability.config import CheckpointPolicy


def young_interval(checkpoint_s: float, mttf_s: float) -> float:
    return math.sqrt(2.0 * checkpoint_s * mttf_s)


def daly_interval(checkpoint_s: float, mttf_s: float) -> float:
    if checkpoint_s >= 2.0 * mttf_s:
        return mttf_s
    x = checkpoint_s / (2.0 * mttf_s)
    return math.sqrt(2.0 * checkpoint_s * mttf_s) * (1.0 + math.sqrt(x) / 3.0 + x / 9.0) - checkpoint_s


def daly_expected_ettr(interval_s: float, checkpoint_s: float, restart_s: float, mttf_s: float) -> float:
    """Productive share of wall time in Daly's model (the inverse of T_w / T_s above)."""
    m = mttf_s
    return interval_s / (m * math.exp(restart_s / m) * math.expm1((interval_s + checkpoint_s) / m))


def meta_expected_ettr(
    interval_s: float, checkpoint_s: float, restart_s: float, n_nodes: int, node_failure_rate_s: float
) -> float:
    failures = n_nodes * node_failure_rate_s
    return (1.0 - failures * (restart_s + interval_s / 2.0)) / (1.0 + checkpoint_s / interval_s)


def meta_optimal_interval(checkpoint_s: float, n_nodes: int, node_failure_rate_s: float) -> float:
    return math.sqrt(2.0 * checkpoint_s / (n_nodes * node_failure_rate_s))


def per_1000_node_days(node_failure_rate_s: float) -> float:
    return node_failure_rate_s * 86400.0 * 1000.0


def from_per_1000_node_days(rate: float) -> float:
    """Meta's r_f (failures per 1000 node-days) as failures per node-second."""
    return rate / 1000.0 / 86400.0


# ---------------------------------------------------------------- storage tiers


def shared_store_seconds(
    total_bytes: float,
    n_nodes: int,
    aggregate_bw: float,
    per_node_bw: float,
    share: float = 1.0,
    commit_s: float = 0.0,
) -> float:
    """Write (or read) through a shared store: the job gets `share` of its aggregate bandwidth, and no more
    than its nodes' links carry; a fixed commit follows."""
    return total_bytes / min(aggregate_bw * share, n_nodes * per_node_bw) + commit_s


def node_local_seconds(bytes_per_node: float, device_bw: float, replicas: int, network_bw: float) -> float:
    """Each node writes its own shard and replicas − 1 peers' shards on its device, and sends replicas − 1
    copies of its shard over the network; both happen at once."""
    return max(replicas * bytes_per_node / device_bw, (replicas - 1) * bytes_per_node / network_bw)


@dataclass(frozen=True)
class CheckpointCost:
    """What one checkpoint of a job costs, in seconds."""

    write_s: float  # the tier write of the whole checkpoint
    read_s: float  # loading it on a restart
    snapshot_s: float  # GPU memory to host memory
    blocking_s: float  # training time lost per checkpoint (δ, w_cp)
    durability_lag_s: float  # after the blocking part, until the checkpoint survives a failure


def checkpoint_cost(
    policy: CheckpointPolicy, bytes_per_gpu: float, n_gpus: int, gpus_per_node: int
) -> CheckpointCost:
    """Write, read and blocking times of one checkpoint under a policy.

    sync: training waits for the snapshot and the write (pipelined, so the slower one). async: training
    waits for the snapshot only, then runs `async_slowdown` slower while the upload proceeds; the checkpoint
    is durable when the upload ends.
    """
    if bytes_per_gpu < 0:
        raise ValueError("checkpoint bytes per GPU must not be negative")
    n_nodes = n_gpus // gpus_per_node
    per_node = bytes_per_gpu * gpus_per_node
    snapshot = bytes_per_gpu / catalog_value("storage", "snapshot", "bandwidth")
    if policy.storage == "shared_store":
        commit = catalog_value("storage", "shared_store_commit", "time")
        per_link = catalog_value("storage", "shared_store_per_node", "bandwidth")
        write_bw = policy.write_bandwidth or catalog_value("storage", "shared_store_write", "bandwidth")
        read_bw = policy.read_bandwidth or catalog_value("storage", "shared_store_read", "bandwidth")
        total = bytes_per_gpu * n_gpus
        write = shared_store_seconds(total, n_nodes, write_bw, per_link, policy.store_share, commit)
        read = shared_store_seconds(total, n_nodes, read_bw, per_link, policy.store_share)
    else:
        replicas = policy.replicas or catalog_value("storage", "replicas")
        peer_bw = catalog_value("storage", "peer_memory", "bandwidth")
        if policy.storage == "local_nvme":
            write_dev = policy.write_bandwidth or catalog_value("storage", "local_nvme_write", "bandwidth")
            read_dev = policy.read_bandwidth or catalog_value("storage", "local_nvme_read", "bandwidth")
            write = node_local_seconds(per_node, write_dev, replicas, peer_bw)
        else:
            peer_bw = policy.write_bandwidth or peer_bw
            read_dev = policy.read_bandwidth or peer_bw
            write = (replicas - 1) * per_node / peer_bw  # the local copy is the snapshot itself
        # A replaced node fetches its shard from a peer; the others read their own copy.
        read = max(per_node / read_dev, per_node / peer_bw if replicas > 1 else 0.0)
    if policy.mode == "sync":
        return CheckpointCost(write, read, snapshot, max(snapshot, write), 0.0)
    slowdown = (
        catalog_value("storage", "async_slowdown") if policy.async_slowdown is None else policy.async_slowdown
    )
    return CheckpointCost(write, read, snapshot, snapshot + slowdown * write, (1.0 - slowdown) * write)


def checkpoint_interval(policy: CheckpointPolicy, cost: CheckpointCost, mttf_s: float) -> float:
    """Training progress between checkpoints: fixed, or Young's or Daly's optimum for this MTTF.

    An asynchronous upload must end before the next snapshot: a fixed interval shorter than the upload is
    refused, an optimum shorter than it is raised to it.
    """
    if policy.every is not None:  # interval fixed (the model requires `every` exactly then)
        if policy.mode == "async" and policy.every < cost.write_s:
            raise ValueError(
                f"checkpoint every {policy.every:g} s is shorter than the {cost.write_s:.0f} s background "
                "upload: lengthen the interval or use a faster tier"
            )
        return policy.every
    if cost.blocking_s <= 0:
        raise ValueError(
            f"a checkpoint that costs no training time has no {policy.interval} optimum; use interval fixed"
        )
    optimum = young_interval if policy.interval == "young" else daly_interval
    interval = optimum(cost.blocking_s, mttf_s)
    return max(interval, cost.write_s) if policy.mode == "async" else interval
