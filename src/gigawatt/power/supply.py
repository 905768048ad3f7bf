"""Supply quality: which voltage sags the IT equipment rides through (ITIC/CBEMA curve, DESIGN §4.2).

The ITIC lower envelope: any sag up to 20 ms (even 0 V); down to 70 % of nominal up to 0.5 s; down to
80 % up to 10 s; 90 % and above indefinitely. Outside it, PSUs drop out and the nodes reset.
"""

from __future__ import annotations

# (minimum remaining voltage, longest tolerated duration in s), from the ITIC (CBEMA) curve,
# Information Technology Industry Council, 2000 revision.
ITIC_LOWER_ENVELOPE: tuple[tuple[float, float], ...] = (
    (0.0, 0.02),
    (0.7, 0.5),
    (0.8, 10.0),
    (0.9, float("inf")),
)


def rides_through(depth: float, duration_s: float) -> bool:
    """True when a sag to `depth` × nominal for `duration_s` lies inside the ITIC tolerance."""
    return any(depth >= v_min and duration_s <= longest for v_min, longest in ITIC_LOWER_ENVELOPE)
