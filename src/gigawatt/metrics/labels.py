"""dcgm-exporter's labels for simulated GPUs: stable and deterministic (same scenario name, same labels).

A real exporter reads UUID and PCI bus id from NVML; a simulated GPU has neither, so they are derived:
UUID from the scenario name and the GPU's global index (a name-based UUID, RFC 4122 version 5), bus id
from the GPU's slot in its node (synthetic: unique within a host, the same on every host). UUID, bus id
and Hostname come from the functions timeseries.parquet's labels do, so a scrape and the file join on
them; `gpu` here counts within the host, as dcgm-exporter's does, where the file's `gpu` column is the
cluster-wide index.
"""

from __future__ import annotations

from gigawatt.telemetry import gpu_uuid, hostname, pci_bus_id

__all__ = ["LABEL_NAMES", "gpu_labels", "gpu_uuid", "hostname", "pci_bus_id"]

LABEL_NAMES = ("gpu", "UUID", "device", "modelName", "Hostname", "pci_bus_id")


def gpu_labels(scenario: str, model: str, n_gpus: int, gpus_per_node: int) -> list[tuple[str, ...]]:
    """Label values, in LABEL_NAMES order, of every GPU: `gpu` and `device` count within the host,
    as dcgm-exporter's do on each host."""
    out = []
    for i in range(n_gpus):
        node, local = divmod(i, gpus_per_node)
        bus = pci_bus_id(i, gpus_per_node)
        out.append((str(local), gpu_uuid(scenario, i), f"nvidia{local}", model, hostname(node), bus))
    return out
