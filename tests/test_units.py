import pytest

from gigawatt.units import UnitError, parse_quantity


@pytest.mark.parametrize(
    ("text", "dimension", "value"),
    [
        ("700 W", "power", 700.0),
        ("45 kW", "power", 45e3),
        ("2 MW", "power", 2e6),
        ("90 s", "time", 90.0),
        ("1 h", "time", 3600.0),
        ("30 min", "time", 1800.0),
        ("500 ms", "time", 0.5),
        ("32 C", "temperature", 32.0),
        ("3.35 TB/s", "bandwidth", 3.35e12),
        ("400 Gb/s", "bandwidth", 50e9),
        ("80 GB", "bytes", 80e9),
        ("1 GiB", "bytes", 2**30),
        ("989.4 TFLOP/s", "compute", 989.4e12),
        ("1980 MHz", "frequency", 1980.0),
        ("2 GHz", "frequency", 2000.0),
        ("725 mV", "voltage", 0.725),
        ("20.6 kg/s", "mass_flow", 20.6),
        ("2 L/min", "volume_flow", 2.0),
        ("4 MJ/K", "heat_capacity", 4e6),
        ("1e3 W", "power", 1000.0),
    ],
)
def test_parses_units(text, dimension, value):
    assert parse_quantity(text, dimension) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "dimension", "fragment"),
    [
        ("700", "power", "no unit"),
        (700, "power", "no unit"),
        ("700 s", "power", "not a power unit"),
        ("fast", "time", "not a number"),
        ("45 kw", "power", "not a power unit"),
        (None, "time", "no unit"),
    ],
)
def test_refuses_missing_or_wrong_units(text, dimension, fragment):
    with pytest.raises(UnitError, match=fragment):
        parse_quantity(text, dimension)
