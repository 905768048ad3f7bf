"""One published check: what the twin predicts, what was measured, and whether the figure was fitted.

Roles:
  fitted     a parameter was fitted to this figure (its error shows the fit, it proves little);
  held out   no parameter was fitted to it: the honest error. Outside its tolerance the check fails;
  model      the twin against a closed form on the same assumptions (a test of the arithmetic);
  other      a published figure from a different set-up, shown with its error but not checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ROLES = ("fitted", "held out", "model", "other")


@dataclass(frozen=True)
class Check:
    group: str
    name: str
    predicted: float
    published: float | tuple[float, float]  # a value, or a (low, high) range
    unit: str
    role: str  # one of ROLES
    tolerance: float | None = None  # relative error allowed; None: not checked
    interval: tuple[float, float] | None = None  # 95 % confidence interval of a Monte Carlo prediction
    note: str = ""
    source: str = ""  # where the published figure comes from

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"check {self.name!r}: role {self.role!r} is not one of {', '.join(ROLES)}")

    @property
    def error(self) -> float:
        """Relative error; for a range, the distance outside it (0 inside)."""
        if isinstance(self.published, tuple):
            low, high = self.published
            if self.predicted < low:
                return self.predicted / low - 1.0
            return max(self.predicted / high - 1.0, 0.0)
        return self.predicted / self.published - 1.0

    @property
    def passed(self) -> bool | None:
        if isinstance(self.published, tuple):
            return self.error == 0.0
        return None if self.tolerance is None else abs(self.error) <= self.tolerance


def failed(checks: list[Check], roles: tuple[str, ...] = ("held out", "model")) -> list[Check]:
    """Checks of these roles outside their tolerance."""
    return [c for c in checks if c.role in roles and c.passed is False]


def fmt(value: float) -> str:
    """A figure as the validation tables print it."""
    if not math.isfinite(value):
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def published_text(c: Check) -> str:
    """The published value, or its range."""
    if isinstance(c.published, tuple):
        return f"{fmt(c.published[0])}–{fmt(c.published[1])}"
    return fmt(c.published)
