"""Scenario models of the reliability section and the checkpoint policy (DESIGN 4.5).

Every field left out takes its catalog value (`catalog/failures.yaml`), where each number has its source.
`ReliabilityConfig` is the scenario's `reliability:` section; `CheckpointPolicy` belongs to a training
workload (how often, how, and where it checkpoints).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from gigawatt.fields import Bandwidth, Delay, Fraction, Strict, Temperature, Time
from gigawatt.reliability.components import check_name


class ComponentOverride(Strict):
    """Change one catalog component: scale or replace its rate, or switch it off."""

    enabled: bool = Field(True, description="false removes this failure cause")
    rate_multiplier: float | None = Field(None, ge=0.0, description="multiplies the catalog rate")
    mtbf: Time | None = Field(
        None,
        description="mean time between failures of one unit (GPU, node or job) at the reference "
        "temperature; replaces the catalog rate",
    )
    activation_energy: float | None = Field(None, ge=0.0, le=2.0, description="Arrhenius Ea in eV")
    detection: Delay | None = Field(None, description="time from the fault to the job being declared failed")
    repair: Time | None = Field(None, description="median time until a drained node is back")

    @model_validator(mode="after")
    def _one_rate(self) -> ComponentOverride:
        if self.rate_multiplier is not None and self.mtbf is not None:
            raise ValueError("give rate_multiplier or mtbf, not both")
        if self.mtbf is not None and self.mtbf <= 0:
            raise ValueError("mtbf must be longer than 0 s")
        if self.repair is not None and self.repair <= 0:
            raise ValueError("repair must be longer than 0 s")
        return self


class TemperatureAcceleration(Strict):
    """Arrhenius acceleration on the die and HBM temperatures the loop computes."""

    enabled: bool = Field(True, description="false: failure rates ignore the dies' temperatures")
    reference_die: Temperature | None = Field(
        None, description="die temperature at which the catalog rates hold (default: the catalog's)"
    )
    reference_hbm: Temperature | None = Field(None, description="HBM temperature at which they hold")


class SupplyEventEffect(Strict):
    """How supply events (sags beyond ride-through, feed losses) raise PSU, host and GPU failures."""

    enabled: bool = Field(True, description="false: supply events do not raise failure rates")
    aftermath_window: Delay | None = Field(
        None, description="how long the raised hazard lasts after an event"
    )
    probability_scale: float = Field(
        1.0, ge=0.0, description="multiplies the catalog's per-event damage chances"
    )


class Spares(Strict):
    """hot_spares: a pool of healthy nodes replaces a drained one at once (while the pool lasts; repaired
    nodes refill it). wait_for_repair: the job waits until the drained node itself is repaired."""

    policy: Literal["hot_spares", "wait_for_repair"] = Field(
        "hot_spares", description="hot_spares: swap in a spare node; wait_for_repair: wait for the failed one"
    )
    pool_nodes: int | None = Field(None, ge=0, description="spare nodes (default: the catalog's)")

    @model_validator(mode="after")
    def _pool(self) -> Spares:
        if self.policy == "hot_spares" and self.pool_nodes == 0:
            raise ValueError("hot_spares needs pool_nodes of 1 or more (or use policy wait_for_repair)")
        if self.policy == "wait_for_repair" and self.pool_nodes:
            raise ValueError("wait_for_repair keeps no spares: leave pool_nodes out")
        return self


class RestartStages(Strict):
    """Times of a restart after the failure is detected (the checkpoint load follows from its size and the
    storage tier's read bandwidth)."""

    reschedule: Delay | None = Field(None, description="relaunch the job on a healthy set of nodes")
    communicator_init: Delay | None = Field(None, description="process start, rendezvous, NCCL set-up")


class SdcDetector(Strict):
    """A silent-data-corruption detector; fields left out take the catalog's values for its kind."""

    kind: Literal["loss_spike", "gradient_norm", "checksum_replay"] = Field(
        description="how silent data corruption is caught"
    )
    probability: Fraction | None = Field(None, description="chance it catches a corruption")
    latency: Delay | None = Field(None, description="training progress from onset (or check) to alarm")
    period: Time | None = Field(None, description="checksum_replay: training progress between checks")
    overhead: Fraction | None = Field(None, description="share of training throughput it costs")

    @model_validator(mode="after")
    def _period(self) -> SdcDetector:
        if self.period is not None and self.kind != "checksum_replay":
            raise ValueError(f"period applies to checksum_replay only, not {self.kind}")
        if self.period is not None and self.period <= 0:
            raise ValueError("period must be longer than 0 s")
        return self


class ReliabilityConfig(Strict):
    """The scenario's reliability section: failure components, what drives them, and recovery."""

    rate_basis: Literal["llama3", "meta_rsc1", "meta_rsc2"] = Field(
        "llama3",
        description="llama3: Llama 3's 54-day counts; meta_rsc1/meta_rsc2: scaled to Meta's research-cluster "
        "node failure rates, keeping Llama 3's mix of causes",
    )
    components: dict[str, ComponentOverride] = Field(
        {}, description="per-component overrides by catalog name (faulty_gpu, hbm, software, ...)"
    )
    temperature_acceleration: TemperatureAcceleration = Field(
        TemperatureAcceleration(), description="failure rates accelerated by die and HBM temperature"
    )
    supply_events: SupplyEventEffect = Field(
        SupplyEventEffect(), description="how supply events raise failure rates afterwards"
    )
    spares: Spares = Field(Spares(), description="spare nodes and what a failure waits for")
    restart: RestartStages = Field(RestartStages(), description="the stages of a restart after a failure")
    sdc_detectors: list[SdcDetector] | None = Field(
        None, description="SDC detectors in use (default: the catalog's; an empty list: none)"
    )
    horizon: Time | None = Field(
        None, description="what `gigawatt reliability` samples (default: the scenario's duration), e.g. 54 d"
    )

    @field_validator("horizon")
    @classmethod
    def _horizon(cls, v: float | None) -> float | None:
        if v is not None and not 0 < v <= 10 * 365 * 86400:
            raise ValueError("must be longer than 0 s and at most 10 years")
        return v

    @field_validator("components")
    @classmethod
    def _known(cls, components: dict[str, ComponentOverride]) -> dict[str, ComponentOverride]:
        for name in components:
            check_name(name)  # CatalogError (a ValueError) naming the known components
        return components

    @field_validator("sdc_detectors")
    @classmethod
    def _distinct(cls, detectors: list[SdcDetector] | None) -> list[SdcDetector] | None:
        kinds = [d.kind for d in detectors or []]
        if len(set(kinds)) != len(kinds):
            raise ValueError("each SDC detector kind may appear once")
        return detectors


class CheckpointPolicy(Strict):
    """How a training job checkpoints.

    interval: fixed (`every`), or Young's or Daly's optimum from the job's failure rate. mode: sync blocks
    training for the whole write; async blocks only for a snapshot to host memory, then uploads in the
    background at a small throughput cost. storage: a shared store (Tectonic-like; aggregate bandwidth
    shared by all writers), local NVMe, or peer host memory (both with a copy on another node).
    Bandwidths left out take the catalog's figure for the tier.
    """

    interval: Literal["fixed", "young", "daly"] = Field(
        "daly", description="fixed (every), or Young's or Daly's optimum from the job's failure rate"
    )
    every: Time | None = Field(None, description="fixed: training progress between checkpoints")
    mode: Literal["sync", "async"] = Field(
        "sync", description="sync: training waits for the write; async: it goes on, slowed"
    )
    storage: Literal["shared_store", "local_nvme", "peer_memory"] = Field(
        "shared_store", description="where checkpoints go: a shared store, local NVMe or peers' memory"
    )
    write_bandwidth: Bandwidth | None = Field(
        None, description="shared_store: aggregate; local_nvme: per node; peer_memory: per node to peers"
    )
    read_bandwidth: Bandwidth | None = Field(None, description="as write_bandwidth, for the restart load")
    store_share: float = Field(
        1.0, gt=0.0, le=1.0, description="shared_store: share of its bandwidth this job gets (contention)"
    )
    replicas: int | None = Field(None, ge=1, description="local_nvme / peer_memory: copies of each shard")
    async_slowdown: Fraction | None = Field(
        None, description="async: share of throughput lost while an upload runs in the background"
    )

    @model_validator(mode="after")
    def _interval(self) -> CheckpointPolicy:
        if self.interval == "fixed" and self.every is None:
            raise ValueError("interval fixed needs `every` (e.g. every: 30 min)")
        if self.interval != "fixed" and self.every is not None:
            raise ValueError(f"`every` applies to interval fixed, not {self.interval}")
        if self.every is not None and self.every <= 0:
            raise ValueError("every must be longer than 0 s")
        for name in ("write_bandwidth", "read_bandwidth"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be more than 0 B/s")
        if self.replicas is not None and self.storage == "shared_store":
            raise ValueError(
                "replicas applies to local_nvme and peer_memory (the shared store keeps its own)"
            )
        if self.async_slowdown is not None and self.mode != "async":
            raise ValueError("async_slowdown applies to mode async")
        return self
