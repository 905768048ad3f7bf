"""Scenario files: pydantic models and a loader whose errors name the file, line, field and what is allowed.

Quantities are written with units ("700 W", "45 kW", "32 C", "90 s") and parsed here, at the boundary,
into the package's internal units (see `gigawatt.units`).
"""

from __future__ import annotations

import copy
import errno
import math
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from gigawatt import catalog
from gigawatt.arch.spec import load_model
from gigawatt.fields import (
    Delay,
    Duration,
    Fraction,
    HeatCapacity,
    MassFlow,
    NonNegativePower,
    PositiveHeatCapacity,
    PositivePower,
    Power,
    ReadRate,
    Strict,
    Temperature,
    ThermalResistance,
    Time,
    VolumeFlow,
)
from gigawatt.plant.config import Site
from gigawatt.power.conversion import conversion_curve
from gigawatt.reliability.config import CheckpointPolicy, ReliabilityConfig
from gigawatt.safety import InputFileError, check_folder_name, excerpt, open_regular_file
from gigawatt.thermal.cold_plate import cold_plate
from gigawatt.yaml_io import YamlInputError
from gigawatt.yaml_io import read as read_yaml

# A name that becomes one folder of the results (a scenario's name, a variant's label).
FolderName = Annotated[
    str,
    AfterValidator(check_folder_name),
    WithJsonSchema({"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", "maxLength": 100}),
]
# Indices that select racks, cooling units or GPUs: at least one.
Indices = Annotated[list[int], Field(min_length=1)]
# A model from the catalog, by name or alias in any case (CatalogError names the known ones).
ModelName = Annotated[
    str,
    AfterValidator(lambda name: load_model(name).name),
    WithJsonSchema(
        {
            "type": "string",
            "description": "model from the catalog, by name or alias (gigawatt model NAME)",
            "x-catalog": "models",
        }
    ),
]


# ---------------------------------------------------------------- cluster


class Variation(Strict):
    """Part-to-part spread of identical GPUs, as coefficients of variation (drawn once per run from the seed).

    Identical GPUs differ: Sinha et al., SC'22 (arXiv 2208.11035) measured 8 % average (22 % max)
    performance variation across same-SKU GPUs under power management. The defaults are assumptions of
    that order, not fits.
    """

    power: float = Field(0.04, ge=0.0, le=0.2, description="CoV of a GPU's power at the same clock and work")
    thermal_resistance: float = Field(0.05, ge=0.0, le=0.3, description="CoV of die-to-coolant resistance")


class Cluster(Strict):
    gpu: str = Field(
        description="GPU type from the catalog, by name or alias (e.g. H100-SXM)",
        json_schema_extra={"x-catalog": "gpus"},
    )
    nodes: int = Field(gt=0, description="number of nodes (a multiple of nodes_per_rack)")
    gpus_per_node: int = Field(8, gt=0, description="GPUs in each node")
    nodes_per_rack: int = Field(
        4, gt=0, description="nodes in each rack (the unit of power budgets and cooling)"
    )
    variation: Variation = Field(
        Variation(), description="part-to-part spread of power and thermal resistance between identical GPUs"
    )
    racks_per_hall: int | None = Field(
        None,
        gt=0,
        description="racks in each hall, the level between racks and the site with its own power budget and "
        "heat rejection (a whole number of CDUs and air zones); none = the whole cluster is one hall",
    )

    @field_validator("gpu")
    @classmethod
    def _known_gpu(cls, name: str) -> str:
        return catalog.gpu(name).name  # raises CatalogError naming the known GPUs

    @model_validator(mode="after")
    def _whole_racks(self) -> Cluster:
        if self.nodes % self.nodes_per_rack:
            raise ValueError(
                f"nodes ({self.nodes}) must be a multiple of nodes_per_rack ({self.nodes_per_rack})"
            )
        return self

    @property
    def racks(self) -> int:
        return self.nodes // self.nodes_per_rack

    @property
    def halls(self) -> int:
        return 1 if self.racks_per_hall is None else self.racks // self.racks_per_hall

    @property
    def gpus(self) -> int:
        return self.nodes * self.gpus_per_node


# ---------------------------------------------------------------- power


class SupplyEvent(Strict):
    """A disturbance of the electrical supply of some racks.

    sag: the voltage falls to `depth` × nominal for `duration`; within the ITIC curve the PSUs ride
    through, beyond it the nodes reset. feed_loss: a rack loses one of its feeds (or PSUs) for `duration`;
    the remaining supply asserts the GPUs' power brake (HwPowerBrakeSlowdown).
    """

    kind: Literal["sag", "feed_loss"] = Field(
        description="sag: the voltage drops; feed_loss: a rack loses one of its feeds"
    )
    at: Delay = Field(description="when the event starts, from the start of the run")
    duration: Duration = Field(description="how long the event lasts")
    depth: Fraction = Field(0.0, description="sag: remaining voltage as a fraction of nominal (0 = outage)")
    racks: Indices | Literal["all"] = Field("all", description="rack indices, or all")

class Psu(Strict):
    curve: str = Field(
        "psu-80plus-titanium-230v",
        description="power-conversion curve from the cooling catalog",
        json_schema_extra={"x-catalog": "psu_curves"},
    )
    rated_per_node: Power = Field(description="rated output of the node's PSUs (sets their load fraction)")

    @field_validator("curve")
    @classmethod
    def _known_curve(cls, name: str) -> str:
        conversion_curve(name)  # raises CatalogError naming the known curves
        return name

    @field_validator("rated_per_node")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be more than 0 W")
        return v


class Capping(Strict):
    """Rack power capping with two thresholds and hysteresis (POLCA, arXiv 2308.12908)."""

    # Assumption: the 97–99 % band is a choice, not a published figure: POLCA's scheme (two thresholds,
    # hysteresis) with the band just under the budget, so a capped rack uses nearly all its power, as a
    # proportional controller can (power.capping); POLCA's own thresholds are left to the operator.

    upper: float = Field(
        0.99, gt=0, le=1.0, description="lower GPU caps when rack power exceeds upper × budget"
    )
    lower: float = Field(0.97, gt=0, le=1.0, description="raise caps again below lower × budget")
    release_step: float = Field(
        0.02, gt=0, le=1.0, description="most a cap is raised per tick, fraction of the GPU limit"
    )
    trip_after: Delay = Field(
        "30 s", description="a rack above its budget this long, even at minimum caps, trips"
    )


class HallBudget(Strict):
    """A power budget for some halls, in place of power.hall_budget (an under- or over-provisioned hall)."""

    halls: Indices = Field(description="hall indices (hall h holds racks h·racks_per_hall onwards)")
    budget: PositivePower = Field(description="each named hall's power budget (IT power at its racks' wall)")


class PowerConfig(Strict):
    gpu_power_limit: NonNegativePower | None = Field(
        None, description="per-GPU power limit (default: the GPU's TDP)"
    )
    rack_budget: NonNegativePower | None = Field(
        None, description="per-rack power budget at the wall; none = unlimited"
    )
    hall_budget: PositivePower | None = Field(
        None,
        description="each hall's power budget: its transformer, UPS and busway capacity, against the IT "
        "power at its racks' wall; a hall above it lowers its GPUs' caps (power.capping); none = unlimited",
    )
    hall_budgets: list[HallBudget] = Field(
        [], description="budgets of particular halls, in place of hall_budget"
    )
    site_budget: NonNegativePower | None = Field(
        None,
        description="the site's feed: facility power (IT, conversion and cooling); a site above it lowers "
        "every GPU's cap (power.hierarchy, on this tick's IT power plus the previous tick's conversion "
        "losses and cooling)",
    )
    host_power_per_node: NonNegativePower | None = Field(
        None,
        description="a constant for the CPUs, DRAM, NICs, switches and fans of one node; default: the load-"
        "dependent host model of catalog/node_power.yaml (gigawatt.power.host)",
    )
    psu: Psu = Field(description="the nodes' power supplies: conversion curve and rating")
    capping: Capping = Field(Capping(), description="rack power capping thresholds and trip time")
    supply_events: list[SupplyEvent] = Field([], description="voltage sags and feed losses")

    @model_validator(mode="after")
    def _hysteresis(self) -> PowerConfig:
        if self.capping.lower >= self.capping.upper:
            raise ValueError("capping.lower must be below capping.upper")
        return self


# ---------------------------------------------------------------- cooling


class Cdu(Strict):
    capacity: Power
    approach: Temperature = Field(description="supply above facility water at rated load")
    flow: MassFlow
    pumps: int = Field(2, gt=0, description="pumps in each CDU")
    pumps_for_full_flow: int = Field(1, gt=0, description="pumps needed for full flow (1 of 2 = N+1)")
    loop_heat_capacity: HeatCapacity = Field(description="thermal mass of the secondary loop (M·c_p)")

    @field_validator("capacity", "flow", "loop_heat_capacity")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be more than 0")
        return v

    @model_validator(mode="after")
    def _pumps(self) -> Cdu:
        if self.pumps_for_full_flow > self.pumps:
            raise ValueError(f"pumps_for_full_flow ({self.pumps_for_full_flow}) exceeds pumps ({self.pumps})")
        return self


class Liquid(Strict):
    racks_per_cdu: int = Field(gt=0, description="racks served by one CDU")
    cdu: Cdu = Field(description="each CDU's capacity, flow, pumps and loop")
    facility_supply: Temperature = Field(description="facility water temperature into the CDUs")
    cold_plate: str = Field(
        "oam-1kW-water",
        description="cold-plate curve from the cooling catalog",
        json_schema_extra={"x-catalog": "cold_plates"},
    )
    cold_plate_flow: VolumeFlow = Field(description="coolant flow through each GPU's cold plate at full flow")
    heat_to_air: Fraction = Field(0.15, description="share of node heat (besides GPUs) left to air")

    @field_validator("cold_plate")
    @classmethod
    def _known_cold_plate(cls, name: str) -> str:
        cold_plate(name)  # raises CatalogError naming the known cold plates
        return name

    @field_validator("facility_supply")
    @classmethod
    def _liquid(cls, v: float) -> float:
        if not 0.0 < v < 100.0:
            raise ValueError("must be between 0 C and 100 C (liquid water)")
        return v

    @field_validator("cold_plate_flow")
    @classmethod
    def _flowing(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be more than 0 L/min")
        return v


class Air(Strict):
    racks_per_zone: int = Field(gt=0, description="racks cooled by one air zone (its CRAHs)")
    crah_capacity: Power = Field(description="cooling capacity of one air zone's CRAHs")
    supply: Temperature = Field(description="cold-aisle supply air temperature")
    zone_heat_capacity: HeatCapacity = Field(description="thermal mass of a zone's air and structures")
    heat_sink_resistance: ThermalResistance | None = Field(
        None, description="die-to-inlet-air resistance of an air-cooled GPU (air-cooled halls only)"
    )

    @field_validator("crah_capacity", "zone_heat_capacity")
    @classmethod
    def _positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be more than 0")
        return v


class CoolingEvent(Strict):
    """pump_failure: `pumps` pumps of the CDUs stop. capacity_loss: capacity falls to `remaining` × rated.
    supply_temperature_rise: the facility water (or supply air) warms by `rise`.
    thermal_interface_degradation: the die-to-coolant resistance of `gpus` grows by `factor` (a dried-out
    or badly seated thermal interface; "thermal interface/sensor" is a failure class in the Llama 3 paper)."""

    kind: Literal[
        "pump_failure", "capacity_loss", "supply_temperature_rise", "thermal_interface_degradation"
    ] = Field(description="what happens to the cooling units (or GPUs) named")
    at: Delay = Field(description="when the event starts, from the start of the run")
    duration: Duration = Field(description="how long the event lasts")
    units: Indices | Literal["all"] = Field("all", description="CDU (or air zone) indices")
    gpus: list[int] = Field([], description="thermal_interface_degradation: GPU indices")
    factor: float = Field(
        3.0,
        gt=1.0,
        le=100.0,
        description="thermal_interface_degradation: resistance multiplier (a dried-out interface: ×10s)",
    )
    pumps: int = Field(1, gt=0, description="pump_failure: pumps that stop in each unit")
    remaining: Fraction = Field(0.5, description="capacity_loss: remaining capacity as a fraction of rated")
    rise: Temperature = Field("5 C", description="supply_temperature_rise: how much warmer the supply gets")


class HallHeatRejection(Strict):
    """Heat-rejection capacity for some halls, in place of cooling.hall_heat_rejection."""

    halls: Indices = Field(description="hall indices (hall h holds racks h·racks_per_hall onwards)")
    capacity: PositivePower = Field(description="each named hall's heat-rejection capacity")


class CoolingConfig(Strict):
    kind: Literal["liquid", "air"] = Field(
        description="liquid: CDUs carry the GPUs' heat (the rest goes to air); air: CRAH zones carry it all"
    )
    liquid: Liquid | None = Field(None, description="the liquid loop (required when kind is liquid)")
    air: Air = Field(description="the air zones (always: liquid-cooled halls still reject some heat to air)")
    events: list[CoolingEvent] = Field(
        [],
        description="pump failures, capacity losses, warmer supply, degraded thermal interfaces",
    )
    hall_heat_rejection: PositivePower | None = Field(
        None,
        description="each hall's own heat rejection (its chillers or dry coolers): heat its CDUs and CRAHs "
        "remove beyond it warms the hall's facility water, and so their supply; none = unlimited",
    )
    hall_heat_rejections: list[HallHeatRejection] = Field(
        [], description="heat rejection of particular halls, in place of hall_heat_rejection"
    )
    hall_water_heat_capacity: PositiveHeatCapacity | None = Field(
        None,
        description="thermal mass of one hall's facility water loop (M·c_p), which warms when its heat "
        "rejection is short; default: 0.8 MJ/K per rack of the hall (assumption: about 0.2 m³ of water "
        "per rack in pipes, headers and buffer tank)",
    )

    @model_validator(mode="after")
    def _sections(self) -> CoolingConfig:
        if self.kind == "liquid" and self.liquid is None:
            raise ValueError("cooling.kind is liquid, so a cooling.liquid section is required")
        if self.kind == "air" and self.air.heat_sink_resistance is None:
            raise ValueError("cooling.kind is air, so cooling.air.heat_sink_resistance is required")
        return self


# ---------------------------------------------------------------- workload


class ExpertParallel(Strict):
    """Serve a mixture-of-experts model with data-parallel attention and expert-parallel MoE layers
    (the DeepSeek-V3 deployment): each GPU attends for its own `batch_size` sequences, and the routed
    experts are spread over the replica's `expert_parallel` GPUs by `placement`."""

    expert_parallel: int = Field(gt=1, description="GPUs that share one copy of the experts (one replica)")
    router: str = Field("topk", description="router from the MoE registry (topk, two_stage, ...)")
    router_options: dict[str, Any] = Field({}, description="keyword options passed to the router")
    placement: Literal["eplb", "hierarchical", "global", "locality"] = Field(
        "eplb",
        description="eplb: EPLB's rebalance_experts (hierarchical if groups divide over nodes, else global)",
    )
    redundant_experts: int = Field(0, ge=0, description="extra replicas of hot experts (EPLB)")
    skew: float = Field(1.0, ge=0.0, description="Zipf exponent of expert popularity in the routed tokens")
    routing_interval: Duration = Field(
        "10 s", description="how often routing is re-sampled from the live state"
    )
    routing_tokens: int = Field(4096, gt=0, description="tokens routed per sample")
    node_limit: int | None = Field(
        None, gt=0, description="at most this many nodes per token (DeepSeek-V3 routes to at most 4)"
    )


class SteadyServing(Strict):
    """A steady LLM serving load: every replica decodes `batch_size` sequences, admitting new ones as old
    ones finish, each with `prompt_tokens` in and `output_tokens` out (the prefill/decode mix)."""

    kind: Literal["steady_serving"] = Field(
        "steady_serving", description="steady_serving: a constant decode load"
    )
    model: ModelName
    precision: Literal["bf16", "fp8"] = Field("bf16", description="weight and KV-cache precision")
    batch_size: int = Field(gt=0, description="sequences each replica decodes at once")
    prompt_tokens: int = Field(gt=0, description="prompt tokens per sequence")
    output_tokens: int = Field(gt=0, description="output tokens per sequence")
    demand: float | None = Field(
        None, gt=0, le=2.0, description="offered load as a fraction of the unthrottled capacity"
    )
    demand_tokens_per_s: float | None = Field(
        None, gt=0, description="offered load in output tokens/s for the whole cluster (instead of demand)"
    )
    tensor_parallel: int | None = Field(None, gt=0, description="GPUs per replica (default: fewest that fit)")
    moe: ExpertParallel | None = Field(
        None, description="expert-parallel serving of a mixture-of-experts model"
    )

    @model_validator(mode="after")
    def _moe_fits_model(self) -> SteadyServing:
        if (self.demand is None) == (self.demand_tokens_per_s is None):
            raise ValueError("give exactly one of workload.demand and workload.demand_tokens_per_s")
        m = load_model(self.model)
        if self.moe is not None:
            if m.ffn.kind != "moe":
                raise ValueError(f"workload.moe is set but {m.name} is a dense model")
            if self.tensor_parallel not in (None, 1):
                raise ValueError("workload.moe uses data-parallel attention: leave tensor_parallel unset")
        return self


class Arrivals(Strict):
    """Where requests come from: a Poisson or bursty (gamma) process, or a trace in the Azure LLM
    inference format (TIMESTAMP,ContextTokens,GeneratedTokens). Rates are for the whole cluster."""

    kind: Literal["poisson", "bursty", "trace"] = Field(
        description="poisson, bursty (gamma inter-arrival times) or trace (a CSV file)"
    )
    rate: float | None = Field(None, gt=0, description="poisson/bursty: requests per second")
    cv: float = Field(2.0, gt=0, description="bursty: coefficient of variation of inter-arrival times")
    prompt_tokens: int | None = Field(None, gt=0, description="poisson/bursty: prompt length")
    output_tokens: int | None = Field(None, gt=0, description="poisson/bursty: output length")
    path: str | None = Field(None, description="trace: CSV file, relative to the scenario file")
    time_scale: float = Field(
        1.0, gt=0, description="trace: multiplies arrival times; 0.5 replays twice as fast"
    )
    limit: int | None = Field(None, gt=0, description="trace: use at most this many requests")

    @model_validator(mode="after")
    def _complete(self) -> Arrivals:
        if self.kind == "trace":
            if not self.path:
                raise ValueError("arrivals of kind trace need a path")
        elif self.rate is None or self.prompt_tokens is None or self.output_tokens is None:
            raise ValueError(f"arrivals of kind {self.kind} need rate, prompt_tokens and output_tokens")
        return self


class Scheduler(Strict):
    """Continuous batching as vLLM does it (defaults: vLLM's max_num_batched_tokens 2048, max_num_seqs
    128, chunked prefill on; 16-token KV blocks)."""

    max_num_batched_tokens: int = Field(
        2048, gt=0,
        description="most tokens (prefill and decode) in one iteration (vLLM's max_num_batched_tokens)",
    )
    max_num_seqs: int = Field(128, gt=0, description="most sequences in one iteration (vLLM's max_num_seqs)")
    chunked_prefill: bool = Field(
        True, description="split long prompts over iterations so decodes keep running"
    )
    block_tokens: int = Field(16, gt=0, description="tokens per KV-cache block")
    when_hbm_is_full: Literal["recompute", "offload"] = Field(
        "recompute", description="preempt and recompute, or offload KV blocks to DRAM then SSD"
    )

    @model_validator(mode="after")
    def _seqs_fit(self) -> Scheduler:
        if self.max_num_seqs > self.max_num_batched_tokens:
            raise ValueError(
                "max_num_seqs must not exceed max_num_batched_tokens (each decode takes a token)"
            )
        return self


class Slo(Strict):
    ttft: Duration = Field("2 s", description="time-to-first-token limit")
    tpot: Duration = Field("100 ms", description="time-per-output-token limit")


class Startup(Strict):
    """How a replica comes up (catalog/startup.yaml): where its weights are read from, what the node has
    cached from an earlier start, and whether the run begins with the replicas serving or loading."""

    storage: Literal["local-nvme", "network-fs"] = Field(
        "local-nvme", description="where each GPU reads its weight shard from"
    )
    storage_read: ReadRate | None = Field(
        None, description="weight read throughput per GPU, instead of the storage kind's catalog figure"
    )
    caches: Literal["warm", "cold"] = Field(
        "warm", description="warm: P2P check and torch.compile results cached on the node; cold: a fresh node"
    )
    begin: Literal["serving", "cold"] = Field(
        "serving", description="serving: replicas are up when the run begins; cold: every replica starts then"
    )


class Serving(Strict):
    """LLM serving with real traffic: replicas of `tensor_parallel` × `pipeline_parallel` GPUs (TP inside a
    node over NVLink, PP across nodes over InfiniBand) behind a round-robin load balancer. `request`
    resolution simulates every request, iteration and KV block; `fluid` moves rates instead, for clusters
    of thousands of replicas."""

    kind: Literal["serving"] = Field(description="serving: real traffic, request by request or as a fluid")
    model: ModelName
    precision: Literal["bf16", "fp8"] = Field("bf16", description="weight and KV-cache precision")
    tensor_parallel: int = Field(1, gt=0, description="GPUs per pipeline stage (inside one node)")
    pipeline_parallel: int = Field(1, gt=0, description="pipeline stages per replica (across nodes)")
    resolution: Literal["request", "fluid"] = Field(
        "request", description="request: every request and KV block; fluid: rates, for thousands of replicas"
    )
    arrivals: Arrivals = Field(description="where requests come from: poisson, bursty or a trace")
    scheduler: Scheduler = Field(Scheduler(), description="continuous batching settings (vLLM's)")
    slo: Slo = Field(Slo(), description="TTFT and TPOT limits that goodput counts against")
    startup: Startup = Field(
        Startup(), description="where replicas read weights and what the node has cached"
    )


class Parallelism(Strict):
    """How a training job splits over its GPUs: TP × CP × PP × DP GPUs (EP is carved out of DP × CP).

    Ranks are laid out with tensor parallelism fastest, then context, then `order` decides whether
    pipeline stages or data-parallel replicas come next: Llama 3 puts data parallelism outermost so that
    its collectives, the most tolerant of latency, cross the oversubscribed pod boundaries (arXiv
    2407.21783 §3.3.2); Megatron-LM's default puts pipeline stages outermost."""

    tensor: int = Field(1, gt=0, description="TP: GPUs splitting each layer's matrices, inside one node")
    context: int = Field(1, gt=0, description="CP: GPUs splitting each sequence (K/V exchanged in a ring)")
    pipeline: int = Field(1, gt=0, description="PP: pipeline stages, each holding a contiguous run of layers")
    data: int = Field(gt=0, description="DP: model replicas, each training on its share of the global batch")
    expert: int = Field(1, gt=0, description="EP (mixture of experts): GPUs splitting the routed experts")
    virtual_stages: int = Field(
        1, gt=0, description="model chunks per pipeline rank; more than 1 is the interleaved 1F1B schedule"
    )
    order: Literal["tp-cp-pp-dp", "tp-cp-dp-pp"] = Field(
        "tp-cp-pp-dp", description="rank layout from fastest- to slowest-varying dimension"
    )

    @property
    def gpus(self) -> int:
        return self.tensor * self.context * self.pipeline * self.data


class Overlap(Strict):
    """Which communication runs behind computation (Megatron-LM's overlap options)."""

    data_parallel: bool = Field(
        True, description="gradient reduce-scatter behind backward, parameter all-gather behind forward"
    )
    tensor_parallel: bool = Field(False, description="tensor-parallel collectives behind the GEMMs")
    context_parallel: bool = Field(True, description="the K/V ring exchange behind attention")
    pipeline_parallel: bool = Field(True, description="stage-to-stage sends behind computation")
    expert_parallel: bool = Field(
        False,
        description="expert all-to-alls behind another micro-batch's computation (DeepSeek-V3's DualPipe)",
    )


class Network(Strict):
    """The scale-out fabric: one NIC per GPU on a rail-optimised leaf/spine(/core) network."""

    nic: str = Field(
        "infiniband-ndr-400",
        description="NIC and fabric from the network catalog",
        json_schema_extra={"x-catalog": "nics"},
    )
    nodes_per_leaf: int = Field(32, gt=0, description="nodes under one leaf switch per rail")
    nodes_per_pod: int | None = Field(
        None, gt=0, description="nodes with full bisection below one spine layer; none = one pod"
    )
    spine_oversubscription: float = Field(1.0, ge=1.0, description="leaf downlink / uplink capacity")
    core_oversubscription: float = Field(1.0, ge=1.0, description="pod downlink / core uplink capacity")

    @field_validator("nic")
    @classmethod
    def _known_nic(cls, name: str) -> str:
        from gigawatt.hardware.fabric import nic

        return nic(name).name


class Training(Strict):
    """Synchronous data-, tensor-, context-, pipeline- (and expert-) parallel LLM training: every GPU of the
    job advances the same optimizer step, which ends when its slowest GPU ends it."""

    kind: Literal["training"] = Field(
        description="training: synchronous data/tensor/context/pipeline(/expert)-parallel training"
    )
    model: ModelName
    precision: Literal["bf16", "fp8"] = Field("bf16", description="GEMM precision (fp8 keeps bf16 weights)")
    sequence_length: int = Field(gt=0, description="tokens per training sequence")
    global_batch_sequences: int | None = Field(None, gt=0, description="sequences per optimizer step")
    global_batch_tokens: int | None = Field(
        None, gt=0, description="tokens per optimizer step (instead of global_batch_sequences)"
    )
    micro_batch: int = Field(1, gt=0, description="sequences per micro-batch on each pipeline")
    parallel: Parallelism = Field(description="how the job splits over the GPUs (TP × CP × PP × DP, EP)")
    zero: Literal[0, 1, 2, 3] = Field(
        1,
        description="ZeRO stage: shard optimizer state (1), + gradients (2), + weights (3, FSDP) over the "
        "data-parallel ranks; Megatron-LM's distributed optimizer is stage 1",
    )
    recompute: Literal["none", "selective", "full"] = Field(
        "selective", description="activation recomputation in the backward pass"
    )
    overlap: Overlap = Field(Overlap(), description="which communication runs behind computation")
    network: Network = Field(Network(), description="the scale-out fabric")
    checkpoint: CheckpointPolicy | None = Field(
        None, description="how the job checkpoints (none: it does not; a failure loses the whole run)"
    )

    @model_validator(mode="after")
    def _batch(self) -> Training:
        if (self.global_batch_sequences is None) == (self.global_batch_tokens is None):
            raise ValueError(
                "give exactly one of workload.global_batch_sequences and workload.global_batch_tokens"
            )
        p = self.parallel
        per_step = p.data * self.micro_batch
        if self.sequences % per_step:
            raise ValueError(
                f"the global batch ({self.sequences} sequences) must be a whole number of micro-batches "
                f"({self.micro_batch} sequences) on each of the {p.data} data-parallel replicas"
            )
        if p.virtual_stages > 1 and self.micro_batches % p.pipeline:
            raise ValueError(
                f"the interleaved schedule needs micro-batches per replica ({self.micro_batches}) to be a "
                f"multiple of parallel.pipeline ({p.pipeline})"
            )
        if self.sequence_length % (2 * p.context) and p.context > 1:
            raise ValueError(
                f"sequence_length ({self.sequence_length}) must split into 2 × parallel.context "
                f"({2 * p.context}) equal chunks (load-balanced causal context parallelism)"
            )
        m = load_model(self.model)
        if p.pipeline * p.virtual_stages > m.layers:
            raise ValueError(
                f"parallel.pipeline × virtual_stages ({p.pipeline * p.virtual_stages}) exceeds the "
                f"{m.layers} layers of {m.name}"
            )
        if p.expert > 1:
            if m.ffn.kind != "moe":
                raise ValueError(f"parallel.expert is {p.expert} but {m.name} is a dense model")
            if (p.data * p.context) % p.expert:
                raise ValueError(
                    f"parallel.expert ({p.expert}) must divide data × context ({p.data * p.context}): "
                    "expert-parallel groups are carved out of the data- and context-parallel ranks"
                )
            if m.ffn.routed_experts % p.expert:
                raise ValueError(
                    f"parallel.expert ({p.expert}) must divide the {m.ffn.routed_experts} routed experts"
                )
        return self

    @property
    def sequences(self) -> int:
        """Sequences per optimizer step."""
        if self.global_batch_sequences is not None:
            return self.global_batch_sequences
        assert self.global_batch_tokens is not None
        return max(1, round(self.global_batch_tokens / self.sequence_length))

    @property
    def micro_batches(self) -> int:
        """Micro-batches each data-parallel replica runs per step (gradient accumulation steps)."""
        return self.sequences // (self.parallel.data * self.micro_batch)


WORKLOAD_KINDS = ("steady_serving", "serving", "training")

# ---------------------------------------------------------------- run


class Recovery(Strict):
    gpu_shutdown: Delay = Field("10 min", description="a thermally shut-down GPU is back after this")
    node_reset: Delay = Field("5 min", description="a node reset by a supply event is back after this")


class Recording(Strict):
    interval: Duration = Field("10 s", description="one telemetry row per GPU (or group) per interval")
    level: Literal["gpu", "node", "rack"] = Field("gpu", description="one row per gpu, per node or per rack")
    max_rows: int = Field(20_000_000, gt=0, description="refuse runs whose timeseries would exceed this")


class Variant(Strict):
    """A named copy of the scenario with some fields changed, run beside it for comparison."""

    label: FolderName = Field(
        description="the variant's name: its results folder and column in the comparison"
    )
    set: dict[str, Any] = Field(
        description="dotted field paths and their new values, e.g. workload.moe.router"
    )


class Scenario(Strict):
    name: FolderName = Field(description="the run's name: the results folder is named after it")
    description: str = Field("", description="free text about the scenario, shown in the report")
    seed: int = Field(0, ge=0, lt=2**63, description="random seed: a whole number from 0 to 2**63 - 1")
    duration: Duration
    tick: Time = Field("1 s", description="simulation time step, 0.1 s to 60 s")
    start: datetime = Field(
        datetime(2026, 7, 1, tzinfo=UTC),
        description="UTC instant the run starts (telemetry timestamps), e.g. 2026-07-01T00:00:00Z",
    )
    cluster: Cluster = Field(description="the GPUs: type, nodes, racks and part-to-part spread")
    power: PowerConfig = Field(
        description="GPU power limits, rack and site budgets, PSUs, capping and supply events"
    )
    cooling: CoolingConfig = Field(
        description="liquid (CDUs) or air (CRAH zones) cooling, and cooling events"
    )
    workload: Annotated[
        SteadyServing | Serving | Training,
        Field(discriminator="kind", description="what the GPUs run: steady_serving, serving or training"),
    ]
    recovery: Recovery = Field(
        Recovery(), description="how long a shut-down GPU or a reset node takes to come back"
    )
    recording: Recording = Field(
        Recording(), description="what the timeseries records: interval, level and a row limit"
    )
    reliability: ReliabilityConfig | None = Field(
        None, description="component failures and silent data corruption in the loop (none: no failures)"
    )
    site: Site | None = Field(
        None, description="weather and heat-rejection plant (none: fixed supply temperatures and plant COPs)"
    )
    variants: list[Variant] = Field([], description="variants of this scenario to run and compare with it")
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)
    _source: tuple[Path, yaml.Node | None] | None = PrivateAttr(default=None)  # file and YAML, for lines

    @model_validator(mode="wrap")
    @classmethod
    def _keep_input(cls, data: Any, handler: Any) -> Scenario:
        """Keep the input as written: variants are applied to it, units and all, and validated afresh."""
        sc = handler(data)
        if isinstance(data, dict):
            sc._raw = copy.deepcopy(data)
        return sc

    @property
    def raw(self) -> dict[str, Any]:
        return self._raw

    @field_validator("start", mode="before")
    @classmethod
    def _start_instant(cls, v: Any) -> Any:
        instant = r"\d{4}-\d\d-\d\d[T ][\d:.]+(Z|[+-]\d\d:?\d\d)?"
        if isinstance(v, datetime) or (isinstance(v, str) and re.fullmatch(instant, v)):
            return v
        raise ValueError("must be a date and time such as 2026-07-01T00:00:00Z (UTC unless offset)")

    @field_validator("start")
    @classmethod
    def _start_utc(cls, v: datetime) -> datetime:
        """A time with no offset is UTC; one with an offset is converted to UTC."""
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)

    @field_validator("tick")
    @classmethod
    def _tick_range(cls, v: float) -> float:
        if not 0.1 <= v <= 60.0:
            raise ValueError("must be between 0.1 s and 60 s")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.tick > self.duration:
            raise ValueError(f"tick ({self.tick:g} s) is longer than duration ({self.duration:g} s)")
        rec = self.recording
        if rec.interval < self.tick or abs(rec.interval / self.tick - round(rec.interval / self.tick)) > 1e-9:
            raise ValueError(f"recording.interval must be a whole number of ticks ({self.tick:g} s)")
        per_row = {
            "gpu": 1,
            "node": self.cluster.gpus_per_node,
            "rack": self.cluster.gpus_per_node * self.cluster.nodes_per_rack,
        }[rec.level]
        rows = self.cluster.gpus // per_row * math.ceil(self.duration / rec.interval)
        if rows > rec.max_rows:
            raise ValueError(
                f"recording would write {rows:,} timeseries rows (more than recording.max_rows = "
                f"{rec.max_rows:,}); record at level node or rack, lengthen recording.interval, "
                "or raise recording.max_rows"
            )
        racks = self.cluster.racks
        if (
            self.cooling.kind == "liquid"
            and self.cooling.liquid
            and racks % self.cooling.liquid.racks_per_cdu
        ):
            raise ValueError(f"racks ({racks}) must be a multiple of cooling.liquid.racks_per_cdu")
        if racks % self.cooling.air.racks_per_zone:
            raise ValueError(f"racks ({racks}) must be a multiple of cooling.air.racks_per_zone")
        self._halls_fit()
        for ev in self.power.supply_events:
            if ev.racks != "all" and any(not 0 <= r < racks for r in ev.racks):
                raise ValueError(f"power.supply_events: rack indices must be in 0..{racks - 1}")
        units = self.cooling_units
        for ev in self.cooling.events:
            if ev.units != "all" and any(not 0 <= u < units for u in ev.units):
                raise ValueError(f"cooling.events: unit indices must be in 0..{units - 1}")
            if any(not 0 <= g < self.cluster.gpus for g in ev.gpus):
                raise ValueError(f"cooling.events: GPU indices must be in 0..{self.cluster.gpus - 1}")
            if ev.kind == "thermal_interface_degradation" and not ev.gpus:
                raise ValueError("cooling.events: thermal_interface_degradation needs the gpus it affects")
        w = self.workload
        if isinstance(w, Serving):
            group = w.tensor_parallel * w.pipeline_parallel
            if (
                w.tensor_parallel > self.cluster.gpus_per_node
                or self.cluster.gpus_per_node % w.tensor_parallel
            ):
                raise ValueError(
                    f"workload.tensor_parallel ({w.tensor_parallel}) must divide gpus_per_node "
                    f"({self.cluster.gpus_per_node}): tensor parallelism stays inside a node"
                )
            if self.cluster.gpus % group:
                raise ValueError(
                    f"a replica of {group} GPUs must divide the cluster's {self.cluster.gpus} GPUs"
                )
        if isinstance(w, Training):
            self._training_fits_cluster(w)
        moe = w.moe if isinstance(w, SteadyServing) else None
        if moe is not None and self.cluster.gpus % moe.expert_parallel:
            raise ValueError(
                f"workload.moe.expert_parallel ({moe.expert_parallel}) must divide the "
                f"cluster's {self.cluster.gpus} GPUs"
            )
        gpn = self.cluster.gpus_per_node
        if moe is not None and (
            moe.expert_parallel % gpn if moe.expert_parallel >= gpn else gpn % moe.expert_parallel
        ):
            raise ValueError(
                f"workload.moe.expert_parallel ({moe.expert_parallel}) must be a multiple or a divisor of "
                f"gpus_per_node ({gpn}): an expert-parallel group spans whole nodes or fits in one"
            )
        return self

    def _halls_fit(self) -> None:
        """Halls hold whole CDUs and air zones, and the hall indices named exist."""
        per_hall, racks = self.cluster.racks_per_hall, self.cluster.racks
        if per_hall is not None:
            if racks % per_hall:
                raise ValueError(
                    f"cluster.racks_per_hall ({per_hall}) must divide the cluster's {racks} racks"
                )
            units = [("cooling.air.racks_per_zone", self.cooling.air.racks_per_zone)]
            if self.cooling.kind == "liquid" and self.cooling.liquid:
                units.insert(0, ("cooling.liquid.racks_per_cdu", self.cooling.liquid.racks_per_cdu))
            for field, size in units:
                if per_hall % size:
                    raise ValueError(
                        f"cluster.racks_per_hall ({per_hall}) must be a multiple of {field} ({size}): "
                        "a hall cools its own racks"
                    )
        halls = self.cluster.halls
        named = [("power.hall_budgets", h.halls) for h in self.power.hall_budgets]
        named += [("cooling.hall_heat_rejections", h.halls) for h in self.cooling.hall_heat_rejections]
        for field, indices in named:
            if any(not 0 <= h < halls for h in indices):
                raise ValueError(f"{field}: hall indices must be in 0..{halls - 1}")

    def _training_fits_cluster(self, w: Training) -> None:
        p, gpn = w.parallel, self.cluster.gpus_per_node
        if p.gpus != self.cluster.gpus:
            raise ValueError(
                f"workload.parallel: tensor × context × pipeline × data = {p.tensor} × {p.context} × "
                f"{p.pipeline} × {p.data} = {p.gpus} GPUs, but the cluster has {self.cluster.gpus}"
            )
        if p.tensor > gpn or gpn % p.tensor:
            raise ValueError(
                f"workload.parallel.tensor ({p.tensor}) must divide gpus_per_node ({gpn}): tensor "
                "parallelism stays inside a node"
            )

    @field_validator("variants")
    @classmethod
    def _unique_labels(cls, variants: list[Variant]) -> list[Variant]:
        labels = [v.label.lower() for v in variants]  # folders: a case-insensitive file system folds case
        if len(set(labels)) != len(labels) or "base" in labels:
            raise ValueError("variant labels must be unique (ignoring case) and not 'base'")
        return variants

    @property
    def ticks(self) -> int:
        return math.floor(self.duration / self.tick + 1e-9)

    @property
    def cooling_units(self) -> int:
        """CDUs (liquid) or air zones (air) that events address."""
        if self.cooling.kind == "liquid" and self.cooling.liquid:
            return self.cluster.racks // self.cooling.liquid.racks_per_cdu
        return self.cluster.racks // self.cooling.air.racks_per_zone


# ---------------------------------------------------------------- loading


class ScenarioError(Exception):
    """A scenario that cannot be run; the message names the file, line, field and what is allowed."""


MAX_ERRORS_SHOWN = 12


def load(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        doc = read_yaml(path, "scenario")
    except InputFileError as exc:
        raise ScenarioError(str(exc)) from None
    except YamlInputError as exc:
        raise ScenarioError(exc.located(path)) from None
    root, data = doc.root, doc.data
    if not isinstance(data, dict):
        where = f"{path}:{root.start_mark.line + 1}" if root is not None else str(path)
        raise ScenarioError(
            f"{where}: a scenario is a YAML mapping with name, duration, cluster, power, cooling and workload"
        )
    return _load_data(path, root, data)


def from_dict(data: Mapping[str, Any], where: str = "<dict>") -> Scenario:
    """A scenario from a mapping as its YAML would read, checked as `load` checks a file: errors name
    `where` in place of the file (and no line); trace and weather paths are relative to the working folder."""
    if not isinstance(data, Mapping):
        raise ScenarioError(
            f"{where}: a scenario is a mapping with name, duration, cluster, power, cooling and workload"
        )
    return _load_data(Path(where), None, copy.deepcopy(dict(data)))


def _load_data(path: Path, root: yaml.Node | None, data: dict[str, Any]) -> Scenario:
    _resolve_trace_path(path, root, data)
    _resolve_weather_path(path, root, data)
    base = _validate(path, root, data)
    for i, variant in enumerate(base.variants):
        _validate(path, root, _with_variant(data, variant), prefix=["variants", i, "set"])
    if root is not None:
        base._source = (path, root)
    return base


def error_at(sc: Scenario, message: str, label: str = "base") -> str:
    """`file:line: message` for a problem found only when a loaded scenario (or its variant `label`) is
    built into a run, such as a model that does not fit: at the field the message starts with, else at the
    workload (or at the variant's changes)."""
    if sc._source is None:
        return f"{sc.name}: {message}"
    path, root = sc._source
    if label != "base":
        i = next(i for i, v in enumerate(sc.variants) if v.label == label)
        node = _node_at(root, ["variants", i, "set"])
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        return f"{path}{line}: variants.{i}.set ({label}): {message}"
    field = re.match(r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*): ", message)
    line = _line_of(root, field.group(1).split(".") if field else ["workload"])
    return f"{path}:{line}: {message if field else f'workload: {message}'}"


def _resolve_trace_path(path: Path, root: yaml.Node | None, data: dict[str, Any]) -> None:
    """A trace path is relative to the scenario file; it must be a regular file of bounded size."""
    from gigawatt.workload.serving.traces import MAX_TRACE_BYTES

    arrivals = (
        (data.get("workload") or {}).get("arrivals") if isinstance(data.get("workload"), dict) else None
    )
    if not isinstance(arrivals, dict) or not isinstance(arrivals.get("path"), str):
        return
    where = f"{path}:{_line_of(root, ['workload', 'arrivals', 'path'])}: workload.arrivals.path"
    try:
        trace = Path(arrivals["path"])
        trace = trace if trace.is_absolute() else path.parent / trace
        trace = Path(os.path.abspath(trace))
        os.close(open_regular_file(trace, MAX_TRACE_BYTES, "trace"))
    except InputFileError as exc:
        missing = exc.errno == errno.ENOENT
        raise ScenarioError(f"{where}: no trace file at {trace}" if missing else f"{where}: {exc}") from None
    except ValueError as exc:  # a NUL character in the path
        raise ScenarioError(f"{where}: not a usable path ({exc})") from None
    arrivals["path"] = str(trace)


def _resolve_weather_path(path: Path, root: yaml.Node | None, data: dict[str, Any]) -> None:
    """A weather file is relative to the scenario file, as a trace is; it must be a regular file."""
    from gigawatt.plant.weather import MAX_WEATHER_BYTES

    site = data.get("site")
    weather = site.get("weather") if isinstance(site, dict) else None
    if not isinstance(weather, dict) or not isinstance(weather.get("path"), str):
        return
    where = f"{path}:{_line_of(root, ['site', 'weather', 'path'])}: site.weather.path"
    try:
        file = Path(weather["path"])
        file = Path(os.path.abspath(file if file.is_absolute() else path.parent / file))
        os.close(open_regular_file(file, MAX_WEATHER_BYTES, "weather file"))
    except InputFileError as exc:
        missing = exc.errno == errno.ENOENT
        raise ScenarioError(f"{where}: no weather file at {file}" if missing else f"{where}: {exc}") from None
    except ValueError as exc:  # a NUL character in the path
        raise ScenarioError(f"{where}: not a usable path ({exc})") from None
    weather["path"] = str(file)


def variant_scenarios(sc: Scenario) -> list[tuple[str, Scenario]]:
    """The scenario itself (labelled "base") and each of its variants, ready to run."""
    runs = [("base", sc)]
    for variant in sc.variants:
        runs.append((variant.label, Scenario.model_validate(_with_variant(sc.raw, variant))))
    return runs


def _with_variant(data: dict[str, Any], variant: Variant) -> dict[str, Any]:
    """The scenario's input with the variant's changes applied (and no variants of its own)."""
    changes = variant.set
    out = copy.deepcopy({k: v for k, v in data.items() if k != "variants"})
    for path, value in changes.items():
        node = out
        *parents, leaf = str(path).split(".")
        for key in parents:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[leaf] = value
    return out


def _validate(
    path: Path, root: yaml.Node | None, data: dict[str, Any], prefix: list[Any] | None = None
) -> Scenario:
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        # In a variant, lines are those of its `set` mapping: the changed fields are not in the file.
        node = _node_at(root, prefix) if prefix else root
        lines = [_describe(path, node, err, prefix) for err in exc.errors()]
        if len(lines) > MAX_ERRORS_SHOWN:
            lines = [*lines[:MAX_ERRORS_SHOWN], f"... and {len(lines) - MAX_ERRORS_SHOWN} more"]
        raise ScenarioError("\n".join(lines)) from None
    except (catalog.CatalogError, ValueError) as exc:
        where = f" ({'.'.join(map(str, prefix))})" if prefix else ""
        raise ScenarioError(f"{path}{where}: {exc}") from None
    return sc


def _describe(path: Path, root: yaml.Node | None, err: Any, prefix: list[Any] | None = None) -> str:
    loc = [part for part in err["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
    # Drop the workload kind pydantic puts in the location of a discriminated union ("workload.serving.x").
    loc = [p for i, p in enumerate(loc) if not (i and loc[i - 1] == "workload" and p in WORKLOAD_KINDS)]
    field = ".".join(str(p) if len(str(p)) <= 40 else excerpt(str(p)) for p in loc) or "(top level)"
    if prefix:
        field = f"{'.'.join(map(str, prefix))}: {field}"
    line = _line_of(root, loc)
    where = f"{path}:{line}" if line else str(path)
    kind, msg = err["type"], err["msg"]
    if kind in ("union_tag_not_found", "union_tag_invalid"):
        msg = f"needs kind: one of {', '.join(repr(k) for k in WORKLOAD_KINDS)}"
    elif kind == "extra_forbidden":
        msg = "unknown key (check the spelling; `gigawatt schema` lists every allowed key)"
    elif kind == "missing":
        msg = "missing required field"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    elif msg.startswith("Assertion failed, "):
        msg = msg[len("Assertion failed, ") :]
    ctx = err.get("ctx") or {}
    if kind == "literal_error" and "expected" in ctx:
        msg = f"must be one of {ctx['expected']}"
    return f"{where}: {field}: {msg}"


def _node_at(node: yaml.Node | None, loc: list[Any]) -> yaml.Node | None:
    """The YAML node at `loc`, or None where the text has none."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return None
    return node


def _line_of(node: yaml.Node | None, loc: list[Any]) -> int | None:
    """The 1-based line of the YAML node at `loc` (or of its deepest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            if match is None:
                key = next((k for k, _ in node.value if k.value == part), None)
                return key.start_mark.line + 1 if key is not None else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


# Where `gigawatt schema` says it lives: a stable identifier, not a server (.invalid never resolves);
# editors take the schema from the file `gigawatt schema > gigawatt.schema.json` writes.
SCHEMA_ID = "https://gigawatt.invalid/schema/scenario.json"


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of scenario files: unit patterns per quantity, catalog names as enums."""
    body = Scenario.model_json_schema()
    _catalog_enums(body)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **body}


def _catalog_enums(node: Any) -> None:
    """Replace each `x-catalog` marker with the enum of that catalog's names (read only when asked)."""
    if isinstance(node, dict):
        kind = node.pop("x-catalog", None)
        if kind is not None:
            node["enum"] = list(dict.fromkeys(catalog.names(kind)))
        for value in node.values():
            _catalog_enums(value)
    elif isinstance(node, list):
        for value in node:
            _catalog_enums(value)
