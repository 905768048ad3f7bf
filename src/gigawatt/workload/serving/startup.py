"""A serving replica's cold start, stage by stage (DESIGN §4.4), from `catalog/startup.yaml`.

A real engine takes tens of seconds to minutes to come up, far more than its weights' bytes over the
storage and PCIe links: the process starts and imports its framework, the tensor-parallel group sets up
its communicators, every worker reads its shard of the weights from storage, deserialises it and copies
it to its GPU, torch.compile traces and compiles the model (or loads the compiled graphs from its cache),
and the engine captures a CUDA graph per batch size. The stages run one after another; inside a stage the
replica's workers run side by side, so the per-GPU work sets the stage's time.

`caches` says what the node kept from an earlier start: with warm caches (a restart on the same node)
the P2P check is skipped and compiled graphs load from vLLM's torch.compile cache; with cold caches (a
fresh node) the P2P check runs and Inductor compiles from scratch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

from gigawatt.arch.spec import ModelSpec
from gigawatt.catalog import CatalogError, GpuSpec
from gigawatt.units import parse_quantity
from gigawatt.workload.serving.memory import weight_bytes_per_gpu

Caches = Literal["warm", "cold"]
Storage = Literal["local-nvme", "network-fs"]


@cache
def startup_catalog() -> dict[str, Any]:
    text = resources.files("gigawatt.catalog").joinpath("startup.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def figure(name: str, dimension: str) -> float:
    """A start-up figure from the catalog in internal units; storage kinds as `storage.<kind>`."""
    entry: Any = startup_catalog()
    for key in name.split("."):
        if key not in entry:
            raise CatalogError(f"startup catalog has no {name!r}")
        entry = entry[key]
    return parse_quantity(entry["value"], dimension)


@dataclass(frozen=True)
class StartupStages:
    """Seconds each stage of one replica's start takes."""

    engine_start: float  # process launch, imports, tokenizer, engine set-up
    communicators: float  # NCCL set-up of the tensor-parallel group (and the P2P check, caches cold)
    storage_read: float  # the worker's weight shard from storage
    deserialise: float  # safetensors parsing and copying, per worker
    host_to_device: float  # the shard over PCIe
    dynamo: float  # torch.compile's bytecode transform
    compile: float  # Inductor: compiled from scratch (caches cold) or loaded from the cache
    cuda_graphs: float  # a CUDA graph per captured batch size

    @property
    def total(self) -> float:
        return sum(asdict(self).values())

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def startup_stages(
    m: ModelSpec,
    precision: str,
    tp: int,
    pp: int,
    gpu: GpuSpec,
    storage: Storage = "local-nvme",
    storage_read: float | None = None,
    caches: Caches = "warm",
) -> StartupStages:
    """The stages of a `tp` × `pp` replica's start; `storage_read` (B/s per GPU) overrides `storage`."""
    shard = weight_bytes_per_gpu(m, precision, tp, pp)
    read = storage_read if storage_read is not None else figure(f"storage.{storage}", "bandwidth")
    cold = caches == "cold"
    comms = (figure("communicator_init", "time") if tp * pp > 1 else 0.0) + (
        figure("p2p_check", "time") if cold and tp > 1 else 0.0
    )
    return StartupStages(
        engine_start=figure("engine_start", "time"),
        communicators=comms,
        storage_read=shard / read,
        deserialise=shard / figure("deserialise", "bandwidth"),
        host_to_device=shard / gpu.pcie_bandwidth,
        dynamo=figure("dynamo", "time"),
        compile=figure("compile_cold" if cold else "compile_warm", "time"),
        cuda_graphs=figure("cuda_graph_per_layer", "time") * m.layers / pp,
    )
