"""nvidia-smi CSV and dcgm-exporter text readers: header names, units, missing values, reason bits, labels,
timestamps, and bad input named by file, line and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gigawatt import governor
from gigawatt.ingest import dcgm
from gigawatt.ingest.read import ingest
from gigawatt.ingest.schema import DRAM_ACTIVE, MEM_COPY_UTIL, NVIDIA_SMI_FIELDS
from gigawatt.ingest.table import IngestError
from gigawatt.telemetry import ACTIVE, ENERGY, GPU_TEMP, POWER, REASONS, SM_CLOCK

DATA = Path(__file__).resolve().parent.parent / "data" / "telemetry"


def _col(table, name):
    return table.column(name).to_pylist()


def _write(tmp_path: Path, text: str, name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_old_reason_names_units_and_na():
    t = ingest([DATA / "synthetic-nvidia-smi-old-names.csv"]).table
    assert _col(t, "time_s") == [0.0, 0.0, 1.0, 1.0]
    assert _col(t, "gpu") == [0, 1, 0, 1]
    power = _col(t, POWER)
    assert power[0] == pytest.approx(76.78) and np.isnan(power[1]) and power[2] == pytest.approx(699.8)
    assert _col(t, SM_CLOCK) == [345.0, 345.0, 1590.0, 1410.0]
    active = _col(t, ACTIVE)  # utilization.gpu in %, the twin's activity in 0-1; [Not Supported] is missing
    assert active[0] == 0.0 and np.isnan(active[1]) and active[3] == pytest.approx(0.97)
    # hex masks kept bit for bit; [N/A] is missing, not 0
    assert _col(t, REASONS) == [0x1, None, governor.SW_POWER_CAP, 0x24]
    assert _col(t, "UUID")[1].endswith("0001") and _col(t, "pci_bus_id")[3] == "00000000:2A:00.0"


def test_event_reason_columns_or_into_the_governor_bits():
    t = ingest([DATA / "synthetic-nvidia-smi-event-reasons-nounits.csv"]).table
    assert _col(t, REASONS) == [
        governor.SW_POWER_CAP,
        governor.HW_SLOWDOWN | governor.SW_THERMAL_SLOWDOWN | governor.HW_THERMAL_SLOWDOWN,
        governor.HW_SLOWDOWN | governor.HW_POWER_BRAKE_SLOWDOWN,
    ]
    assert _col(t, POWER) == [699.5, 420.0, 300.1]  # nounits: bare numbers under a "[W]" header
    assert _col(t, MEM_COPY_UTIL) == [35.0, 30.0, 80.0]


def test_both_reason_generations_map_alike():
    for prefix in ("clocks_throttle_reasons.", "clocks_event_reasons."):
        assert NVIDIA_SMI_FIELDS[prefix + "active"].column == REASONS
        assert NVIDIA_SMI_FIELDS[prefix + "sw_thermal_slowdown"].bit == governor.SW_THERMAL_SLOWDOWN


def test_noheader_log_needs_and_takes_the_query(tmp_path):
    path = _write(tmp_path, "2024/03/07 00:20:37.071, 0, 100.5\n2024/03/07 00:20:38.571, 0, 200.0\n")
    with pytest.raises(IngestError, match=r"log\.csv:1: .*--query"):
        ingest([path])
    t = ingest([path], query=["timestamp", "index", "power.draw"]).table
    assert _col(t, "time_s") == [0.0, 1.5] and _col(t, POWER) == [100.5, 200.0]


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        (
            "timestamp, index, power.draw [W]\n2024/03/07 00:20:37.071, 0, 12x W\n",
            r":2: column 3 \(power.draw\)",
            "not a number",
        ),
        (
            "timestamp, index, power.draw [kW]\n2024/03/07 00:20:37.071, 0, 1\n",
            r":1: column 3",
            r"\[kW\].*\[W\]",
        ),
        ("timestamp, index, power.draw [W]\n2024/03/07 00:20:37.071, 0\n", r":2: ", "2 values for 3"),
        (
            "timestamp, index, power.draw [W]\nyesterday, 0, 1 W\n",
            r":2: column 1 \(timestamp\)",
            "not a timestamp",
        ),
        ("timestamp, clocks_event_reasons.active\n2024/03/07 00:20:37.071, 4x\n", r":2: column 2", "bitmask"),
        (
            "timestamp, clocks_event_reasons.sw_power_cap\n2024/03/07 00:20:37.071, On\n",
            r":2: column 2",
            "Not Active",
        ),
        ("index, power.draw [W]\n0, 1 W\n", r":1: ", "no timestamp column"),
        (
            "timestamp, memory.used [MiB]\n2024/03/07 00:20:37.071, 1 MiB\n",
            r":1: ",
            "no column gigawatt reads",
        ),
    ],
)
def test_bad_nvidia_smi_rows_name_file_line_column(tmp_path, text, where, what):
    path = _write(tmp_path, text)
    with pytest.raises(IngestError, match=rf"log\.csv{where}.*{what}"):
        ingest([path])


def test_dcgm_line_grammar():
    name, labels, value, stamp = dcgm.parse_line(
        'DCGM_FI_DEV_POWER_USAGE{gpu="0", pod="a \\"b\\" \\\\ c\\nd",} 312.4 1700000000000'
    )
    assert (name, value, stamp) == ("DCGM_FI_DEV_POWER_USAGE", 312.4, 1700000000000)
    assert labels == {"gpu": "0", "pod": 'a "b" \\ c\nd'}
    assert dcgm.parse_line("DCGM_FI_DEV_GPU_TEMP 55")[1:] == ({}, 55.0, None)
    assert np.isnan(dcgm.parse_line('X{gpu="0"} NaN')[2])


@pytest.mark.parametrize(
    ("line", "column", "what"),
    [
        ('DCGM_FI_DEV_POWER_USAGE{gpu="0} 1', 29, "never ends"),
        ("DCGM_FI_DEV_POWER_USAGE{gpu=0} 1", 28, 'expected ="'),
        ('DCGM_FI_DEV_POWER_USAGE{gpu="0"} watts', 33, "not a number"),
        ('DCGM_FI_DEV_POWER_USAGE{gpu="0"} 1 soon', 33, "not a timestamp"),
        ('DCGM_FI_DEV_POWER_USAGE{gpu="\\q"} 1', 30, "unknown escape"),
        ("9GPU 1", 1, "metric name"),
    ],
)
def test_bad_dcgm_lines_name_file_line_column(tmp_path, line, column, what):
    path = _write(tmp_path, f"# HELP x\n# TYPE x gauge\n{line}\n", "scrape.prom")
    with pytest.raises(IngestError, match=rf"scrape\.prom:3: column {column}: .*{what}"):
        ingest([path])


def test_dcgm_scrapes_split_merge_labels_and_blanks():
    got = ingest([DATA / "synthetic-dcgm-scrapes.prom"])
    t = got.table
    assert _col(t, "time_s") == [0.0, 0.0, 15.0, 15.0]  # from the millisecond timestamps
    assert _col(t, "gpu") == [0, 1, 0, 1] and set(_col(t, "Hostname")) == {"node-1"}
    assert _col(t, POWER) == [312.4, 298.0, 650.0, 640.5]
    assert np.isnan(_col(t, GPU_TEMP)[3])  # DCGM's int64 blank: no reading
    assert _col(t, REASONS)[0] == governor.SW_POWER_CAP  # the pre-3.3 CLOCK_THROTTLE_REASONS name
    assert _col(t, ENERGY)[2] == pytest.approx(9750.0)  # counted from the first reading, as the twin does
    assert got.ignored == ["DCGM_FI_DEV_FB_USED"]


def test_scrapes_without_timestamps_are_spaced_by_the_interval(tmp_path):
    one = 'DCGM_FI_DEV_POWER_USAGE{gpu="0"} 100\nDCGM_FI_DEV_POWER_USAGE{gpu="1"} 110\n'
    concatenated = _write(tmp_path, one + one.replace("100", "200"), "all.prom")
    t = ingest([concatenated], interval_s=10.0).table
    assert _col(t, "time_s") == [0.0, 0.0, 10.0, 10.0] and _col(t, POWER) == [100.0, 110.0, 200.0, 110.0]
    # one file per scrape: the same
    files = [_write(tmp_path, one, "a.prom"), _write(tmp_path, one.replace("100", "200"), "b.prom")]
    assert ingest(files, interval_s=10.0).table.equals(t)
    timed = _write(tmp_path, 'DCGM_FI_DEV_POWER_USAGE{gpu="0"} 1 1700000000000\n', "c.prom")
    with pytest.raises(IngestError, match="timestamps"):
        ingest([files[0], timed])


def test_published_dcgm_exporter_readme_scrape():
    """NVIDIA/dcgm-exporter README's sample output: the memory temperature reads DCGM's blank value."""
    got = ingest([DATA / "dcgm-exporter-readme.prom"])
    t = got.table
    assert _col(t, SM_CLOCK) == [139.0] and _col(t, "gpu") == [0]
    assert _col(t, "UUID") == ["GPU-604ac76c-d9cf-fef3-62e9-d92044ab6e52"]
    assert "DCGM_FI_DEV_MEMORY_TEMP" in got.ignored
    assert dcgm.blank("DCGM_FI_DEV_MEMORY_TEMP", 9223372036854775794.0)
    assert not dcgm.blank(ENERGY, float(0x7FFFFFF5)) and dcgm.blank(GPU_TEMP, float(0x7FFFFFF5))


def test_dram_active_is_kept_for_the_power_fit():
    t = ingest([DATA / "synthetic-h100-power-scrapes.prom"]).table
    assert {POWER, SM_CLOCK, ACTIVE, DRAM_ACTIVE} <= set(t.column_names) and t.num_rows == 240


@pytest.mark.parametrize("kind", ["folder", "fifo", "binary"])
def test_unreadable_inputs_are_named(tmp_path, kind):
    import os

    path = tmp_path / "in"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.write_bytes(b"timestamp\n\xff\xfe\x00")
    with pytest.raises(IngestError, match=str(path)):
        ingest([path])


def test_formats_are_not_mixed():
    with pytest.raises(IngestError, match="mixing nvidia-smi logs and dcgm-exporter scrapes"):
        ingest([DATA / "synthetic-nvidia-smi-old-names.csv", DATA / "synthetic-dcgm-scrapes.prom"])


def test_windows_line_ends_and_byte_order_mark(tmp_path):
    text = "\ufefftimestamp, index, power.draw [W]\r\n2024/03/07 00:20:37.071, 0, 100.00 W\r\n"
    path = tmp_path / "win.csv"
    path.write_bytes(text.encode("utf-8"))
    assert _col(ingest([path]).table, POWER) == [100.0]


def test_appended_logs_repeat_their_header_and_nul_bytes_are_named(tmp_path):
    part = "timestamp, index, power.draw [W]\n2024/03/07 00:20:3{}.000, 0, 10{} W\n"
    path = _write(tmp_path, part.format(1, 1) + part.format(2, 2))
    assert _col(ingest([path]).table, POWER) == [101.0, 102.0]
    bad = _write(tmp_path, "timestamp, power.draw [W]\n2024/03/07 00:20:37.071, 1\x00 W\n", "nul.csv")
    with pytest.raises(IngestError, match=r"nul\.csv:2: "):
        ingest([bad])
