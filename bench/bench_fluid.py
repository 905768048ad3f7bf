"""Fluid serving speed: 2,048 replicas × 1 simulated hour inside the coupled loop.

    python bench/bench_fluid.py [--replicas 2048] [--hours 1]

Llama-3.1-70B with TP8 on 8-GPU H100 nodes (2,048 replicas = 16,384 GPUs), Poisson traffic at 2 requests/s
per replica, liquid-cooled racks; prints simulated replica-seconds per wall second and peak memory.
"""

from __future__ import annotations

import argparse
import resource
import time

import yaml

from gigawatt.engine import Engine
from gigawatt.scenario import Scenario
from gigawatt.summary import summarize

SCENARIO = """
name: bench-fluid
seed: 11
duration: {hours} h
cluster: {{gpu: H100-SXM, nodes: {nodes}, gpus_per_node: 8, nodes_per_rack: 4}}
power:
  rack_budget: 45 kW
  host_power_per_node: 2.5 kW
  psu: {{curve: psu-80plus-titanium-230v, rated_per_node: 19.8 kW}}
cooling:
  kind: liquid
  liquid:
    racks_per_cdu: 16
    cdu: {{capacity: 1368 kW, approach: 4 C, flow: 20.6 kg/s, pumps: 2, pumps_for_full_flow: 1,
          loop_heat_capacity: 8 MJ/K}}
    facility_supply: 30 C
    cold_plate_flow: 2 L/min
  air: {{racks_per_zone: 16, crah_capacity: 400 kW, supply: 24 C, zone_heat_capacity: 20 MJ/K}}
workload:
  kind: serving
  model: Llama-3.1-70B
  tensor_parallel: 8
  resolution: fluid
  arrivals: {{kind: poisson, rate: {rate}, prompt_tokens: 1024, output_tokens: 256}}
recording: {{interval: 5 min, level: rack}}
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", type=int, default=2048)
    ap.add_argument("--hours", type=float, default=1.0)
    args = ap.parse_args()
    text = SCENARIO.format(hours=args.hours, nodes=args.replicas, rate=2.0 * args.replicas)
    sc = Scenario.model_validate(yaml.safe_load(text))
    start = time.perf_counter()
    engine = Engine(sc)
    built = time.perf_counter() - start
    result = engine.run()
    wall = time.perf_counter() - start
    s = summarize(result)
    replica_seconds = args.replicas * sc.ticks * sc.tick
    print(
        f"{args.replicas} replicas ({sc.cluster.gpus} GPUs) × {sc.ticks} ticks in {wall:.1f} s "
        f"(setup {built:.1f} s)"
    )
    print(f"speed: {replica_seconds / wall:.3g} simulated replica-seconds per wall second")
    tpot_ms = s["tpot_s"]["mean"] * 1e3
    print(f"served {s['throughput_tokens_per_s']:,.0f} output tokens/s, mean TPOT {tpot_ms:.1f} ms")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")


if __name__ == "__main__":
    main()
