"""Shared report-test inputs."""

from __future__ import annotations

import pyarrow as pa
import pytest

from .synthetic import synthetic_events, synthetic_facility, synthetic_summary, synthetic_timeseries


@pytest.fixture(scope="session")
def run_inputs() -> tuple[dict, pa.Table, pa.Table, pa.Table]:
    """A 64-GPU, 300-interval run with a rack budget and a pump failure."""
    timeseries = synthetic_timeseries(64, 300)
    return (
        synthetic_summary(64, 300.0, 120.0),
        timeseries,
        synthetic_facility(timeseries, 120.0),
        synthetic_events(300.0),
    )
