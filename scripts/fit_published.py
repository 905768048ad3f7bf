"""Re-fit the roofline efficiencies of GPUs without operator timings to published serving throughputs.

    python scripts/fit_published.py

Reads src/gigawatt/catalog/published_inference.yaml, fits the parameters `calibration.published.FIT_PLAN`
names (held-out rows never enter), and rewrites the `roofline_published` section of
src/gigawatt/catalog/calibration.yaml, leaving the operator-timing fit above it untouched. Deterministic.
Prints every row's prediction and error.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gigawatt.calibration import published as pub
from gigawatt.hardware.roofline import efficiency, fp8_gemm_ratio

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "src" / "gigawatt" / "catalog" / "calibration.yaml"


def main() -> int:
    rows = pub.load_rows()
    fits = pub.fit_all(rows)
    b200 = pub.blackwell_efficiency(fp8_gemm_ratio("B200"))
    TARGET.write_text(pub.splice(TARGET.read_text(encoding="utf-8"), pub.render_section(fits, b200)),
                      encoding="utf-8")
    effs = {f.gpu: f.efficiency for f in fits} | {"B200": b200}
    for f in fits:
        e = f.efficiency
        print(f"{f.gpu:10s} eta_c {e.compute:.4f} eta_m {e.memory:.4f} ({', '.join(f.fitted)} fitted to "
              f"{len(f.rows)} rows, MAPE {f.mape_fitted:.1f}%)")
    for r in rows:
        p = pub.predict(r, effs.get(r.gpu, efficiency(r.gpu)))
        role = "held out" if r.held_out else "fitted"
        error = (p / r.published - 1) * 100
        print(f"{r.id:48s} {role:8s} {p:8.1f} vs {r.published:8.1f} tok/s/GPU ({error:+.1f}%)")
    print(f"wrote {TARGET.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
