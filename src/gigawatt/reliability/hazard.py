"""Hazard under the loop's conditions: Arrhenius temperature acceleration and supply events (DESIGN 4.5).

    AF = exp[(Ea / k) · (1 / T_ref − 1 / T)],   k = 8.617e-5 eV/K, temperatures in kelvin

At the reference temperature AF = 1, so the catalog rates are reproduced there. The reference is the die
(and HBM) temperature of the fleet the rates were measured on (catalog `reference_temperature`); a hall
that runs cooler than Llama 3's air-cooled servers fails less, a hotter one more.

Supply events (sags beyond ride-through, feed losses) act on a node two ways: the event itself may damage a
component (a probability per event, scaled by its severity), and the component's hazard stays raised by a
multiplier for an aftermath window. Both figures are labelled assumptions in the catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from gigawatt.reliability.components import Component, catalog_value

BOLTZMANN_EV_PER_K = 8.617e-5
KELVIN = 273.15


def arrhenius(
    temp_c: np.ndarray | float, reference_c: float, activation_energy_ev: float
) -> np.ndarray | float:
    """Acceleration factor of a failure rate at temp_c relative to reference_c."""
    scale = activation_energy_ev / BOLTZMANN_EV_PER_K
    af = np.array(temp_c, dtype=float, ndmin=1) + KELVIN
    np.divide(scale, af, out=af)  # in place: this runs on every GPU every tick
    np.subtract(scale / (reference_c + KELVIN), af, out=af)
    np.exp(af, out=af)
    return af if np.ndim(temp_c) else float(af[0])


class AccelerationSetting(Protocol):
    """The fields of `config.TemperatureAcceleration`."""

    enabled: bool
    reference_die: float | None
    reference_hbm: float | None


@dataclass(frozen=True)
class Acceleration:
    enabled: bool
    reference_die_c: float
    reference_hbm_c: float

    @classmethod
    def from_setting(cls, setting: AccelerationSetting | None = None) -> Acceleration:
        die = catalog_value("reference_temperature", "die", "temperature")
        hbm = catalog_value("reference_temperature", "hbm", "temperature")
        if setting is None:
            return cls(True, die, hbm)
        return cls(
            setting.enabled,
            die if setting.reference_die is None else setting.reference_die,
            hbm if setting.reference_hbm is None else setting.reference_hbm,
        )

    def factor(
        self,
        component: Component,
        die_temp_c: np.ndarray | float | None,
        hbm_temp_c: np.ndarray | float | None,
    ) -> np.ndarray | float:
        """Per-GPU acceleration of a component (1.0 when it has no temperature driver or none is given).

        Without an HBM temperature, HBM is taken to sit as far above the die as it does at the reference.
        """
        if not self.enabled or component.temperature == "none" or component.activation_energy_ev == 0.0:
            return 1.0
        if component.temperature == "die":
            if die_temp_c is None:
                return 1.0
            return arrhenius(die_temp_c, self.reference_die_c, component.activation_energy_ev)
        if hbm_temp_c is None:
            if die_temp_c is None:
                return 1.0
            hbm_temp_c = np.asarray(die_temp_c, dtype=float) + (self.reference_hbm_c - self.reference_die_c)
        return arrhenius(hbm_temp_c, self.reference_hbm_c, component.activation_energy_ev)


class SupplySetting(Protocol):
    """The fields of `config.SupplyEventEffect`."""

    enabled: bool
    aftermath_window: float | None
    probability_scale: float


@dataclass(frozen=True)
class SupplyEffect:
    enabled: bool
    aftermath_window_s: float
    probability_scale: float

    @classmethod
    def from_setting(cls, setting: SupplySetting | None = None) -> SupplyEffect:
        window = catalog_value("supply_events", "aftermath_window", "time")
        if setting is None:
            return cls(True, window, 1.0)
        return cls(
            setting.enabled,
            window if setting.aftermath_window is None else setting.aftermath_window,
            setting.probability_scale,
        )

    def damage_probability(self, component: Component, severity: np.ndarray) -> np.ndarray:
        """Chance one unit of the component is damaged by an event of this severity (0..1 of supply lost)."""
        if not self.enabled:
            return np.zeros_like(severity, dtype=float)
        return np.clip(component.supply_event_probability * self.probability_scale * severity, 0.0, 1.0)

    def multiplier(self, component: Component, in_aftermath: np.ndarray) -> np.ndarray:
        """Hazard multiplier per node: raised inside an event's aftermath window."""
        if not self.enabled:
            return np.ones(in_aftermath.shape)
        return 1.0 + (component.supply_aftermath_multiplier - 1.0) * in_aftermath


def job_rates(
    components: Sequence[Component],
    n_gpus: int,
    gpus_per_node: int,
    acceleration: Acceleration,
    die_temp_c: np.ndarray | float | None = None,
    hbm_temp_c: np.ndarray | float | None = None,
) -> np.ndarray:
    """Failure rate (per second) of each component over a whole job, at the given temperatures.

    Per-GPU temperatures average their acceleration factors: the job fails when any unit fails, so its
    rate is the sum of the units' rates.
    """
    return np.array(
        [
            c.rate_per_unit_s
            * c.units(n_gpus, gpus_per_node)
            * float(np.mean(acceleration.factor(c, die_temp_c, hbm_temp_c)))
            for c in components
        ]
    )
