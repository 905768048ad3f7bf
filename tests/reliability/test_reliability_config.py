"""Scenario models of the reliability section and checkpoint policy: defaults and clear errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gigawatt.reliability.config import CheckpointPolicy, ReliabilityConfig


def _error(model: type, data: dict) -> str:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return str(info.value)


def test_defaults_and_units_parse():
    cfg = ReliabilityConfig.model_validate(
        {
            "components": {"hbm": {"rate_multiplier": 2}, "network": {"detection": "30 s"}},
            "temperature_acceleration": {"reference_die": "50 C"},
            "spares": {"policy": "hot_spares", "pool_nodes": 8},
            "restart": {"communicator_init": "45 s"},
            "sdc_detectors": [{"kind": "checksum_replay", "period": "2 h"}],
        }
    )
    assert cfg.components["network"].detection == 30.0
    assert cfg.temperature_acceleration.reference_die == 50.0
    assert cfg.restart.communicator_init == 45.0 and cfg.restart.reschedule is None
    assert cfg.sdc_detectors is not None and cfg.sdc_detectors[0].period == 7200.0
    policy = CheckpointPolicy.model_validate(
        {"interval": "fixed", "every": "30 min", "mode": "async", "write_bandwidth": "1 TB/s"}
    )
    assert policy.every == 1800.0 and policy.write_bandwidth == 1e12
    assert CheckpointPolicy().interval == "daly"


@pytest.mark.parametrize(
    ("model", "data", "message"),
    [
        (ReliabilityConfig, {"components": {"faulty_gpus": {}}}, "did you mean faulty_gpu"),
        (
            ReliabilityConfig,
            {"components": {"hbm": {"rate_multiplier": 2, "mtbf": "1000 h"}}},
            "rate_multiplier or mtbf, not both",
        ),
        (ReliabilityConfig, {"components": {"hbm": {"mtbf": "0 h"}}}, "mtbf must be longer than 0 s"),
        (ReliabilityConfig, {"components": {"hbm": {"mtbf": 1000}}}, "has no unit"),
        (ReliabilityConfig, {"components": {"hbm": {"activation_energy": 5}}}, "less than or equal to 2"),
        (ReliabilityConfig, {"components": {"hbm": {"rate": 2}}}, "Extra inputs are not permitted"),
        (ReliabilityConfig, {"spares": {"policy": "hot_spares", "pool_nodes": 0}}, "use policy wait_for"),
        (ReliabilityConfig, {"spares": {"policy": "wait_for_repair", "pool_nodes": 4}}, "keeps no spares"),
        (ReliabilityConfig, {"spares": {"policy": "spares"}}, "'hot_spares' or 'wait_for_repair'"),
        (ReliabilityConfig, {"restart": {"reschedule": "-1 s"}}, "must not be negative"),
        (
            ReliabilityConfig,
            {"sdc_detectors": [{"kind": "loss_spike", "period": "1 h"}]},
            "period applies to checksum_replay only",
        ),
        (
            ReliabilityConfig,
            {"sdc_detectors": [{"kind": "loss_spike"}, {"kind": "loss_spike"}]},
            "may appear once",
        ),
        (ReliabilityConfig, {"sdc_detectors": [{"kind": "magic"}]}, "'loss_spike', 'gradient_norm'"),
        (
            ReliabilityConfig,
            {"sdc_detectors": [{"kind": "loss_spike", "probability": 1.5}]},
            "less than or equal to 1",
        ),
        (ReliabilityConfig, {"supply_events": {"probability_scale": -1}}, "greater than or equal to 0"),
        (CheckpointPolicy, {"interval": "fixed"}, "interval fixed needs `every`"),
        (CheckpointPolicy, {"interval": "young", "every": "10 min"}, "applies to interval fixed, not young"),
        (CheckpointPolicy, {"interval": "fixed", "every": "0 s"}, "every must be longer than 0 s"),
        (CheckpointPolicy, {"write_bandwidth": "0 GB/s"}, "write_bandwidth must be more than 0 B/s"),
        (CheckpointPolicy, {"write_bandwidth": "2 TB"}, "not a bandwidth unit"),
        (CheckpointPolicy, {"replicas": 2}, "replicas applies to local_nvme and peer_memory"),
        (CheckpointPolicy, {"async_slowdown": 0.1}, "async_slowdown applies to mode async"),
        (CheckpointPolicy, {"storage": "tape"}, "'shared_store', 'local_nvme' or 'peer_memory'"),
        (CheckpointPolicy, {"store_share": 0}, "greater than 0"),
    ],
)
def test_bad_inputs_give_clear_errors(model, data, message):
    assert message in _error(model, data)


def test_json_schema_shows_units_and_choices():
    schema = CheckpointPolicy.model_json_schema()
    assert "B/s" in str(schema["properties"]["write_bandwidth"])
    text = str(ReliabilityConfig.model_json_schema())
    assert "meta_rsc1" in text and "checksum_replay" in text and "wait_for_repair" in text
