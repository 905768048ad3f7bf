"""The liquid-cooled H100 hall the benchmarks run in: 8-GPU nodes, 4 nodes a rack, 16 racks per CDU."""

from __future__ import annotations

from typing import Any


def hall(nodes: int) -> dict[str, Any]:
    """cluster, power, cooling and recording sections of a scenario for `nodes` 8×H100 nodes."""
    return {
        "cluster": {"gpu": "H100-SXM", "nodes": nodes, "gpus_per_node": 8, "nodes_per_rack": 4},
        "power": {
            "rack_budget": "45 kW",
            "host_power_per_node": "2.5 kW",  # assumption, as in examples/balanced.yaml
            "psu": {"curve": "psu-80plus-titanium-230v", "rated_per_node": "19.8 kW"},
        },
        "cooling": {
            "kind": "liquid",
            "liquid": {
                "racks_per_cdu": 16,
                "cdu": {
                    "capacity": "1368 kW",
                    "approach": "4 C",
                    "flow": "20.6 kg/s",
                    "pumps": 2,
                    "pumps_for_full_flow": 1,
                    "loop_heat_capacity": "8 MJ/K",
                },  # Vertiv XDU1350 (catalog)
                "facility_supply": "30 C",
                "cold_plate_flow": "2 L/min",
            },
            "air": {
                "racks_per_zone": 16,
                "crah_capacity": "400 kW",
                "supply": "24 C",
                "zone_heat_capacity": "20 MJ/K",
            },
        },
        "recording": {"interval": "5 min", "level": "rack"},
    }
