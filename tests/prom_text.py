"""Test helper: read Prometheus text exposition as Prometheus itself names the samples."""

from __future__ import annotations

import re


def parse_exposition(text: str) -> dict[str, tuple[str, list]]:
    """{metric: (# TYPE, [(labels, value)])}, sample names as exposed (prometheus-client's own parser
    renames counter samples to `_total`, which Prometheus does not)."""
    from prometheus_client.parser import text_string_to_metric_families

    list(text_string_to_metric_families(text))  # valid text format
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    samples: dict[str, list] = {}
    for name, labels, value in re.findall(r"^(\w+)(?:\{(.*)\})? (\S+)$", text, re.M):
        samples.setdefault(name, []).append((dict(re.findall(r'(\w+)="([^"]*)"', labels)), float(value)))
    return {name: (types[name], samples.get(name, [])) for name in types}
