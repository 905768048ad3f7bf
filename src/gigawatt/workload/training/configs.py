"""Training configurations as arrays, so one evaluation covers one job (the loop) or thousands (the planner).

A configuration is how the job splits (TP, CP, PP, DP, EP, virtual stages), its micro-batch, its
activation recomputation and its ZeRO stage; the model, GPU, sequence length, global batch, network and
overlap settings are shared by all of them (`Job`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from gigawatt.arch.params import count_params, mlp_params
from gigawatt.arch.spec import ModelSpec, load_model
from gigawatt.catalog import GpuSpec
from gigawatt.scenario import Network, Overlap, Training

RECOMPUTE = ("none", "selective", "full")
ORDERS = ("tp-cp-pp-dp", "tp-cp-dp-pp")


@dataclass(frozen=True)
class Job:
    """What every configuration of one training job shares."""

    model: ModelSpec
    gpu: GpuSpec
    precision: str
    sequence_length: int
    sequences: int  # global batch, sequences per optimizer step
    gpus_per_node: int
    network: Network
    overlap: Overlap

    @property
    def tokens_per_step(self) -> int:
        return self.sequences * self.sequence_length


@dataclass(frozen=True)
class Configs:
    """Parallel configurations, one per element; every field an integer array of the same shape."""

    tp: np.ndarray
    cp: np.ndarray
    pp: np.ndarray
    dp: np.ndarray
    ep: np.ndarray
    mb: np.ndarray  # micro-batch, sequences
    v: np.ndarray  # virtual pipeline stages (model chunks) per rank
    recompute: np.ndarray  # index into RECOMPUTE
    zero: np.ndarray  # ZeRO stage 0-3
    order: np.ndarray  # index into ORDERS

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, np.atleast_1d(np.asarray(getattr(self, f.name), dtype=np.int64)))

    def __len__(self) -> int:
        return len(self.tp)

    def take(self, index: np.ndarray | int) -> Configs:
        return Configs(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @property
    def gpus(self) -> np.ndarray:
        return self.tp * self.cp * self.pp * self.dp

    def micro_batches(self, job: Job) -> np.ndarray:
        """Micro-batches each data-parallel replica runs per step."""
        return job.sequences // (self.dp * self.mb)

    def strides(self) -> dict[str, np.ndarray]:
        """Rank distance between neighbours along each dimension (ranks are GPU indices)."""
        dp_outer = self.order == 0
        tp_cp = self.tp * self.cp
        return {
            "tp": np.ones_like(self.tp),
            "cp": self.tp,
            "pp": np.where(dp_outer, tp_cp, tp_cp * self.dp),
            "dp": np.where(dp_outer, tp_cp * self.pp, tp_cp),
        }


def job_of(w: Training, gpu: GpuSpec, gpus_per_node: int) -> Job:
    return Job(
        model=load_model(w.model),
        gpu=gpu,
        precision=w.precision,
        sequence_length=w.sequence_length,
        sequences=w.sequences,
        gpus_per_node=gpus_per_node,
        network=w.network,
        overlap=w.overlap,
    )


def configs_of(w: Training) -> Configs:
    p = w.parallel
    return Configs(
        tp=p.tensor,
        cp=p.context,
        pp=p.pipeline,
        dp=p.data,
        ep=p.expert,
        mb=w.micro_batch,
        v=p.virtual_stages,
        recompute=RECOMPUTE.index(w.recompute),
        zero=w.zero,
        order=ORDERS.index(p.order),
    )


def layers_per_stage(layers: int, pp: int) -> np.ndarray:
    """Layers on each pipeline stage: as even as possible, the first and last stages (which also hold the
    embedding and the LM head) giving up a layer first (as Llama 3 balanced 126 layers over 16 stages,
    arXiv 2407.21783 §3.3.2)."""
    base = -(-layers // pp)
    counts = np.full(pp, base)
    deficit = base * pp - layers
    order = np.array([i // 2 if i % 2 == 0 else pp - 1 - i // 2 for i in range(pp)])
    counts[order[:deficit]] -= 1
    return counts


def edge_stage_layers(layers: int, pp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`layers_per_stage` for many pipeline depths at once: layers on the first stage, on a middle one (the
    most any middle stage holds) and on the last. A single stage holds every layer (first and last at once).
    The deficit base·p − L is below p, so at most one layer leaves each of the first and the last stage
    before a middle stage gives one up, and a middle stage always keeps `base`."""
    pp = np.asarray(pp)
    base = -(-layers // pp)
    deficit = base * pp - layers
    first = np.where(pp == 1, layers, base - (deficit >= 1))
    last = np.where(pp == 1, layers, base - (deficit >= 2))
    return first, base, last


@dataclass(frozen=True)
class ParamSplit:
    """Parameters of the model by how they are split over GPUs."""

    dense_per_layer: float  # attention, norms, dense FFN or router + shared experts: split by TP
    experts_per_layer: float  # routed experts of one MoE layer: split by EP
    embedding: float  # input embedding (first stage), split by TP
    head: float  # LM head (last stage), split by TP


def param_split(m: ModelSpec) -> ParamSplit:
    c = count_params(m)
    routed = m.ffn.routed_experts * mlp_params(m.hidden, m.ffn.expert_intermediate, m.ffn.gated)
    experts = routed * m.moe_layers
    embedding = m.vocab * m.hidden
    untied_head = 0 if m.tied_embeddings else m.vocab * m.hidden
    layer_params = c.total - embedding - untied_head - experts  # the final norm counted with the layers
    return ParamSplit(
        dense_per_layer=layer_params / m.layers,
        experts_per_layer=experts / m.layers,
        embedding=embedding,
        head=m.vocab * m.hidden,  # the last stage holds the LM head, a copy of the embedding when tied
    )
