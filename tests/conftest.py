"""Hypothesis profiles: `ci` (the default) keeps the fuzzers to a small, fixed set of cases; run
`pytest tests/safety --hypothesis-profile soak --hypothesis-show-statistics` for a long soak."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=15,
    deadline=None,
    derandomize=True,  # the same cases on every run: CI is not where a new failure should appear by chance
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "soak",
    max_examples=1_200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci")
