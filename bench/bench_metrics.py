"""Scrape latency of `gigawatt run --metrics-port`: median and max over N scrapes over HTTP on localhost.

    python bench/bench_metrics.py [--gpus 32 1024 16384] [--scrapes 50]

For each size, a short run of the benchmark hall (recording per GPU) records snapshots; the server then
serves them and is scraped N times with urllib. `fresh` scrapes follow a new snapshot each time (the
families and text are built by the scrape), `cached` scrapes re-read the same snapshot, as Prometheus does
when it scrapes faster than the recording interval. Per-GPU series up to 1024 GPUs, per node beyond.
"""

from __future__ import annotations

import argparse
import statistics
import time
import urllib.request

from bench_engine import WORKLOADS
from gigawatt.engine import Engine
from gigawatt.metrics.server import MetricsServer
from gigawatt.scenario import Scenario
from gigawatt.telemetry import Snapshot
from hall import hall


def _scrape(port: int) -> tuple[float, int]:
    start = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
        size = len(r.read())
    return time.perf_counter() - start, size


def bench(gpus: int, scrapes: int) -> None:
    data = {
        "name": f"bench-metrics-{gpus}",
        "seed": 1,
        "duration": "20 s",
        "tick": "1 s",
        **hall(max(1, gpus // 8)),
        "workload": WORKLOADS["serving"],
    }
    if gpus < 512:  # a smaller hall: one CDU and zone per rack
        data["cooling"]["liquid"]["racks_per_cdu"] = 1
        data["cooling"]["air"]["racks_per_zone"] = 1
    data["recording"] = {"interval": "1 s", "level": "gpu"}
    sc = Scenario.model_validate(data)
    snaps: list[Snapshot] = []
    Engine(sc).run(observe=snaps.append)
    server = MetricsServer(0)
    server.begin(sc)
    try:
        fresh, cached = [], []
        for i in range(scrapes):
            server(Snapshot(**vars(snaps[i % len(snaps)])))  # a new snapshot: nothing cached
            seconds, size = _scrape(server.port)
            fresh.append(seconds)
            cached.append(_scrape(server.port)[0])
    finally:
        server.close()
    ms = lambda xs: f"median {statistics.median(xs) * 1e3:6.1f} ms, max {max(xs) * 1e3:6.1f} ms"  # noqa: E731
    print(f"{gpus:>6} GPUs, {size / 1e3:7.0f} kB: fresh {ms(fresh)}; cached {ms(cached)}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--gpus", type=int, nargs="+", default=[32, 1024])
    p.add_argument("--scrapes", type=int, default=50)
    args = p.parse_args()
    for n in args.gpus:
        bench(n, args.scrapes)


if __name__ == "__main__":
    main()
