"""Re-fit the roofline efficiencies and all-reduce links to vidur's profiled timings.

    python scripts/fit_roofline.py [DATA_DIR]

DATA_DIR defaults to ../shared/data/profiling beside the repository (vidur `data/profiling/`, commit
7d47513363ec447a741ac5e47241580b47724fbf). Rewrites src/gigawatt/catalog/calibration.yaml; the same
data always gives the same file (its `roofline_published` section, from scripts/fit_published.py, is
kept). Prints the fitted values and errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gigawatt.calibration.calibrate import fit_all, render_yaml
from gigawatt.calibration.published import MARKER
from gigawatt.calibration.vidur import DataError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "profiling"
DATA_LABEL = "../shared/data/profiling"  # how the sources name the data, relative to the repository
TARGET = REPO / "src" / "gigawatt" / "catalog" / "calibration.yaml"


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else DEFAULT_DATA
    try:
        cal = fit_all(root, DATA_LABEL)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    # The section fitted to published serving figures (scripts/fit_published.py) is kept as it is.
    old = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    tail = "#\n" + old[old.index(MARKER):] if MARKER in old else ""
    TARGET.write_text(render_yaml(cal, DATA_LABEL) + tail, encoding="utf-8")
    for name, fit in sorted(cal.roofline.items()):
        e = fit.efficiency
        held = "n/a" if fit.mdape_held_out is None else f"{fit.mdape_held_out:.2f}%"
        print(f"{name:15s} eta_c {e.compute:.3f} eta_m {e.memory:.3f} p {e.overlap_p:.2f} "
              f"launch {e.launch_s * 1e6:.2f} us | {fit.rows} rows, MdAPE {fit.mdape_in_sample:.2f}% "
              f"in sample, {held} held out")
    for setup, fits in sorted(cal.collectives.items()):
        for f in fits:
            print(f"{setup:22s} n={f.num_workers:2d} per-node={f.devices_per_node} "
                  f"busbw {f.link.bandwidth / 1e9:7.1f} GB/s step latency {f.link.latency * 1e6:6.2f} us | "
                  f"{f.rows} rows, MdAPE {f.mdape_in_sample:.2f}% in sample, "
                  f"{f.mdape_held_out:.2f}% held out")
    print(f"wrote {TARGET.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
