"""Headline metrics of a run and the causal chain that explains them, in numbers."""

from __future__ import annotations

from typing import Any

import numpy as np

from gigawatt import catalog
from gigawatt.engine import RunResult
from gigawatt.halls import chain_causes as hall_causes
from gigawatt.halls import summary as hall_summary
from gigawatt.power.conversion import conversion_curve
from gigawatt.power.host import node_host


def _window_mean(time_s: np.ndarray, values: np.ndarray, start: float, end: float) -> float | None:
    sel = (time_s > start) & (time_s <= end)
    return float(values[sel].mean()) if sel.any() else None


def offered_heat_w(result: RunResult) -> dict[str, float]:
    """Heat the load would produce unthrottled, split as the cooling sees it (per CDU / air zone)."""
    sc = result.scenario
    per_gpu = result.workload.unthrottled_gpu_power_w(result.totals.demanded_tokens / (sc.ticks * sc.tick))
    host = float(node_host(sc.power.host_power_per_node, sc.cluster.gpus_per_node).power(np.array(1.0)))
    gpus_per_rack = sc.cluster.gpus_per_node * sc.cluster.nodes_per_rack
    rack_gpu = gpus_per_rack * per_gpu
    rack_host = sc.cluster.nodes_per_rack * host
    node_dc = sc.cluster.gpus_per_node * per_gpu + host
    eff = float(conversion_curve(sc.power.psu.curve)(np.array([node_dc / sc.power.psu.rated_per_node]))[0])
    rack_wall = (rack_gpu + rack_host) / eff
    if sc.cooling.kind == "liquid" and sc.cooling.liquid:
        lq = sc.cooling.liquid
        liquid_per_unit = lq.racks_per_cdu * (rack_gpu + (1.0 - lq.heat_to_air) * rack_host)
    else:
        liquid_per_unit = 0.0
    return {"gpu_w": per_gpu, "rack_wall_w": rack_wall, "liquid_per_cdu_w": liquid_per_unit}


def summarize(result: RunResult) -> dict[str, Any]:
    sc, tot, wl = result.scenario, result.totals, result.workload
    gpu = catalog.gpu(sc.cluster.gpu)
    dur = sc.ticks * sc.tick
    fac = result.facility.to_pydict()
    gpu_ticks = max(tot.gpu_ticks, 1)
    throughput = tot.output_tokens / dur
    demand = tot.demanded_tokens / dur
    ev = result.events
    errors = ev.count("thermal_shutdown") + ev.count("node_reset")
    balance = tot.it_energy_j - (tot.heat_to_liquid_j + tot.heat_to_air_j + result.stored_heat_j)
    summary: dict[str, Any] = {
        "scenario": sc.name,
        "description": sc.description,
        "seed": sc.seed,
        "duration_s": dur,
        "tick_s": sc.tick,
        "gpus": sc.cluster.gpus,
        "gpu_model": gpu.name,
        **wl.describe(),
        "throughput_tokens_per_s": throughput,
        "demand_tokens_per_s": demand,
        "input_tokens_per_s": throughput * wl.input_per_output,
        "served_fraction": throughput / demand if demand else 1.0,
        "backlog_tokens_end": float(fac["backlog_tokens"][-1]),
        "lost_tokens": wl.lost_tokens,
        "energy_j_per_token": tot.it_energy_j / tot.output_tokens if tot.output_tokens else None,
        "gpu_power_w": {"mean": tot.gpu_energy_j / dur / sc.cluster.gpus, "max": tot.gpu_power_max_w},
        "it_power_kw": {"mean": tot.it_energy_j / dur / 1e3, "max": float(np.max(fac["it_power_kw"]))},
        "facility_power_kw": {
            "mean": tot.facility_energy_j / dur / 1e3,
            "max": tot.facility_power_max_w / 1e3,
        },
        "pue": tot.facility_energy_j / tot.it_energy_j,
        "facility_power_swing": power_swing(result.facility_power_w, sc.tick, sc.power.site_budget),
        "max_gpu_temp_c": tot.gpu_temp_max_c,
        "throttle_fraction": {
            "power": tot.power_capped_gpu_ticks / gpu_ticks,
            "thermal": tot.thermal_gpu_ticks / gpu_ticks,
            "power_brake": tot.brake_gpu_ticks / gpu_ticks,
        },
        "power_cap_unmet": {  # caps below the lowest clock's power (gigawatt.power.cap_floor)
            "gpu_time_fraction": tot.cap_unmet_gpu_ticks / gpu_ticks,
            "excess_w_mean": tot.cap_excess_energy_j / (tot.cap_unmet_gpu_ticks * sc.tick)
            if tot.cap_unmet_gpu_ticks
            else 0.0,
            "excess_w_max": tot.cap_excess_max_w,
        },
        "down_fraction": tot.down_gpu_ticks / gpu_ticks,
        "errors": errors,
        "error_kinds": {
            "thermal_shutdown": ev.count("thermal_shutdown"),
            "node_reset": ev.count("node_reset"),
        },
        "energy_kwh": {
            "it": tot.it_energy_j / 3.6e6,
            "facility": tot.facility_energy_j / 3.6e6,
            "gpu": tot.gpu_energy_j / 3.6e6,
            "cooling": tot.cooling_energy_j / 3.6e6,
        },
        "heat_kwh": {
            "to_liquid": tot.heat_to_liquid_j / 3.6e6,
            "to_air": tot.heat_to_air_j / 3.6e6,
            "stored": result.stored_heat_j / 3.6e6,
        },
        "energy_balance_relative_error": balance / tot.it_energy_j,
        "rack_budget_exceeded_s": tot.budget_exceeded_rack_s,
        "limits": {
            "gpu_power_limit_w": gpu.tdp if sc.power.gpu_power_limit is None else sc.power.gpu_power_limit,
            "rack_budget_kw": sc.power.rack_budget / 1e3 if sc.power.rack_budget is not None else None,
            "temp_max_operating_c": gpu.temp_max_operating,
            "temp_slowdown_c": gpu.temp_slowdown,
            "temp_shutdown_c": gpu.temp_shutdown,
        },
        "phases": _phases(result, fac),
    }
    if sc.site is not None:
        summary["site"] = site_day(result, fac, summary["pue"])
    if result.halls is not None:
        summary["halls"] = hall_summary(result.halls)
    summary.update(wl.summary_sections(dur, tot.it_energy_j, tot.output_tokens, result.facility_power_w))
    summary["chain"] = chain(result, summary)
    return summary


# Headline figures a variant comparison shows, in order, with how to read them.
COMPARED = (
    ("throughput_tokens_per_s", "tok/s", "higher is better"),
    ("energy_j_per_token", "J/tok", "lower is better"),
    ("max_gpu_temp_c", "max °C", "lower is better"),
    ("throttle_fraction.thermal", "thermal", "share of GPU-time thermally throttled"),
    ("throttle_fraction.power", "power", "share of GPU-time power-throttled"),
    ("errors", "errors", "shutdowns and resets"),
    ("moe.balancedness_mean", "balance", "mean/max GPU expert load, 1 = even"),
)


def headline(summary: dict[str, Any], key: str, missing: Any = None) -> Any:
    """summary["a"]["b"] for key "a.b"; `missing` where any part is absent."""
    value: Any = summary
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return missing
        value = value[part]
    return value


def comparison(
    runs: list[tuple[str, dict[str, Any]]], sets: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """One row per run (base first) with the compared headline figures and what the variant changed."""
    return [
        {
            "label": label,
            "set": sets.get(label, {}),
            "chain": s["chain"],
            **{key: headline(s, key) for key, _, _ in COMPARED},
            "demand_tokens_per_s": headline(s, "demand_tokens_per_s"),
        }
        for label, s in runs
    ]


def _phases(result: RunResult, fac: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Throughput before, during and after each scheduled event."""
    sc = result.scenario
    t = np.asarray(fac["time_s"])
    tok = np.asarray(fac["output_tokens_per_s"])
    temp = np.asarray(fac["gpu_temp_max_c"])
    lat = result.workload.latency_samples()
    out = []
    for e in [*sc.power.supply_events, *sc.cooling.events]:
        if e.at >= float(t[-1]):
            continue  # the run ends before the event
        start, end = e.at, e.at + e.duration
        warm = lat[2] if lat is not None else 0.0
        windows = {"before": (warm, start), "during": (start, end), "after": (end, float(t[-1]))}
        if lat is not None:
            arrival, values, _ = lat
            extra = {
                f"{name}_p99_s": {
                    w: _p99(values[f"{name}_s"][(arrival > a) & (arrival <= b)])
                    for w, (a, b) in windows.items()
                }
                for name in ("ttft", "tpot")
            }
        else:
            extra = {}
        out.append(
            {
                "event": e.kind,
                "start_s": start,
                "end_s": end,
                "tokens_per_s": {
                    "before": _window_mean(t, tok, 0.0, start),
                    "during": _window_mean(t, tok, start, end),
                    "after": _window_mean(t, tok, end, float(t[-1])),
                },
                "max_gpu_temp_c": {
                    "before": _max(t, temp, 0.0, start),
                    "during": _max(t, temp, start, end),
                    "after": _max(t, temp, end, float(t[-1])),
                },
                **extra,
            }
        )
    return out


def _p99(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(np.percentile(finite, 99)) if finite.size else None


def _max(t: np.ndarray, v: np.ndarray, start: float, end: float) -> float | None:
    sel = (t > start) & (t <= end)
    return float(v[sel].max()) if sel.any() else None


def site_day(result: RunResult, fac: dict[str, list[float]], pue_mean: float) -> dict[str, Any]:
    """The day as the plant saw it: outdoor, facility supply and PUE ranges, economiser hours, and the
    GPUs' temperature and throughput in the two hours around the hottest and the coolest outdoor moment."""
    sc = result.scenario
    assert sc.site is not None
    t = np.asarray(fac["time_s"])
    col = {k: np.asarray(fac[k]) for k in fac if k != "time_s"}
    hours = np.diff(t, prepend=0.0) / 3600.0  # each row's interval; the last may be short
    eco = col["economiser_share"]
    liquid = "facility_water_c" in col and sc.cooling.kind == "liquid"
    supply_key = "facility_water_c" if liquid else "supply_air_c"
    db = col["outdoor_dry_bulb_c"]
    hot, cool = int(np.argmax(db)), int(np.argmin(db))

    def around(i: int, key: str) -> float:
        sel = np.abs(t - t[i]) <= 3600.0 + 1e-9
        return float(col[key][sel].mean())

    start = getattr(sc.site.weather, "start", 0.0)
    clock = sc.site.weather.kind == "daily"
    span = lambda key: {"min": float(col[key].min()), "max": float(col[key].max())}  # noqa: E731
    return {
        "dry_bulb_c": span("outdoor_dry_bulb_c"),
        "wet_bulb_c": span("outdoor_wet_bulb_c"),
        "supply": supply_key,
        "supply_c": span(supply_key),
        "pue": {"min": float(np.nanmin(col["pue"])), "mean": pue_mean, "max": float(np.nanmax(col["pue"]))},
        "economiser_hours": {
            "full": float(hours[eco >= 0.999].sum()),
            "partial": float(hours[(eco > 0.001) & (eco < 0.999)].sum()),
        },
        "chiller_kwh": float((col["chiller_kw"] * hours).sum()),
        "peak": {"time_s": float(t[hot]), "clock": clock, "start_s": start},
        "night": {"time_s": float(t[cool])},
        "gpu_temp_max_c": {"peak": around(hot, "gpu_temp_max_c"), "night": around(cool, "gpu_temp_max_c")},
        "tokens_per_s": {
            "peak": around(hot, "output_tokens_per_s"),
            "night": around(cool, "output_tokens_per_s"),
        },
    }


def _site_chain(d: dict[str, Any]) -> tuple[str, str]:
    """("outdoor … → facility water … → PUE … → GPU temp …", "−y % tokens/s at peak vs night")."""

    def when(time_s: float) -> str:
        pk = d["peak"]
        if not pk["clock"]:
            return f"{time_s / 3600:g} h in"
        minutes = round(((time_s + pk["start_s"]) % 86400.0) / 60.0)
        return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"

    r = lambda k: f"{d[k]['min']:.0f}–{d[k]['max']:.0f} C"  # noqa: E731
    name = "facility water" if d["supply"] == "facility_water_c" else "supply air"
    temp = d["gpu_temp_max_c"]
    rise = temp["peak"] - temp["night"]
    econ = d["economiser_hours"]
    cause = (
        f"outdoor {r('dry_bulb_c')} dry bulb / {r('wet_bulb_c')} wet bulb → {name} {r('supply_c')} "
        f"(economiser {econ['full']:.0f} h full, {econ['partial']:.0f} h partial) → PUE "
        f"{d['pue']['min']:.2f}–{d['pue']['max']:.2f} → GPU temp {rise:+.1f} K at "
        f"{when(d['peak']['time_s'])} vs {when(d['night']['time_s'])}"
    )
    tok = d["tokens_per_s"]
    change = tok["peak"] / tok["night"] - 1.0 if tok["night"] else 0.0
    return cause.replace("+-", "−"), f"{change:+.1%} tokens/s at peak vs night".replace("-", "−")


def power_swing(facility_w: np.ndarray, tick_s: float, site_budget_w: float | None) -> dict[str, Any]:
    """How far facility power moves, at tick resolution: the spread between its 1st and 99th percentile,
    the steepest tick-to-tick ramp, and the peak against the site's feed."""
    p = np.asarray(facility_w) / 1e6
    ramp = np.abs(np.diff(p)).max() / tick_s if p.size > 1 else 0.0
    out: dict[str, Any] = {
        "resolution_s": tick_s,
        "amplitude_mw": float(np.percentile(p, 99) - np.percentile(p, 1)),
        "ramp_max_mw_per_s": float(ramp),
        "peak_mw": float(p.max()),
    }
    if site_budget_w is not None:
        out["site_budget_mw"] = site_budget_w / 1e6
        out["above_budget_s"] = float(np.count_nonzero(p > site_budget_w / 1e6) * tick_s)
    return out


def chain(result: RunResult, s: dict[str, Any]) -> str:
    """The run's cause → effect chain in numbers, e.g.
    "cooling 43% of heat → 31% GPU-time thermally throttled → −18% tokens/s → 3 shutdowns"."""
    sc, wl = result.scenario, result.workload
    offered = offered_heat_w(result)
    causes: list[str] = []
    if sc.power.rack_budget is not None and sc.power.rack_budget < offered["rack_wall_w"]:
        causes.append(
            f"rack budget {sc.power.rack_budget / 1e3:.1f} kW = "
            f"{sc.power.rack_budget / offered['rack_wall_w']:.0%} of demand"
        )
    duration = sc.ticks * sc.tick
    day = _site_chain(s["site"]) if "site" in s else None
    if day is not None:
        causes.append(day[0])
    cooling_events = [e for e in sc.cooling.events if e.at < duration]  # events the run reaches
    if sc.cooling.kind == "liquid" and sc.cooling.liquid:
        cdu = sc.cooling.liquid.cdu
        share = cdu.capacity / offered["liquid_per_cdu_w"]
        pumps_left = {
            e.pumps: min(1.0, max(cdu.pumps - e.pumps, 0) / cdu.pumps_for_full_flow) for e in cooling_events
        }
        unit = "CDU"
    else:
        share, unit = 1.0, "air zone"
    if share < 1.0 and not cooling_events:
        causes.append(f"cooling {share:.0%} of heat")
    for e in cooling_events:
        when = f"at {e.at / 60:g} min for {e.duration / 60:g} min"
        if e.kind == "thermal_interface_degradation":
            causes.append(f"thermal interface of GPU {', '.join(map(str, e.gpus))} ×{e.factor:g} {when}")
        elif e.kind == "supply_temperature_rise":
            causes.append(f"{unit} supply +{e.rise:g} C {when}")
        elif e.kind == "capacity_loss":
            causes.append(
                f"{unit} capacity to {e.remaining:.0%} {when}"
                + (f" (cooling {share * e.remaining:.0%} of heat)" if unit == "CDU" else "")
            )
        elif unit == "CDU":
            causes.append(
                f"{e.pumps} CDU pump(s) failed {when} (cooling {share * pumps_left[e.pumps]:.0%} of heat)"
            )
        else:
            causes.append(f"{unit} fans stopped {when}")
    for e in sc.power.supply_events:
        if e.at >= duration:
            continue
        causes.append(
            f"supply {e.kind} to {e.depth:.0%} for {e.duration:g} s"
            if e.kind == "sag"
            else f"feed loss for {e.duration:g} s"
        )
    if "halls" in s:
        causes += hall_causes(s["halls"])
    swing = s["facility_power_swing"]
    if "site_budget_mw" in swing:
        above = f", above it for {swing['above_budget_s']:g} s" if swing["above_budget_s"] else ""
        causes.append(
            f"site peak {swing['peak_mw']:.2f} MW of a {swing['site_budget_mw']:.2f} MW feed{above} "
            f"(swing {swing['amplitude_mw']:.2f} MW, ramp up to {swing['ramp_max_mw_per_s']:.2f} MW/s)"
        )
    tf = s["throttle_fraction"]
    effects = [
        f"{_share(tf[key])} GPU-time {label}"
        for key, label in (
            ("power", "power-throttled"),
            ("thermal", "thermally throttled"),
            ("power_brake", "power-braked"),
        )
        if tf[key] > 0.0
    ]
    unmet = s["power_cap_unmet"]
    if unmet["gpu_time_fraction"] > 0.0:
        effects.append(
            f"{_share(unmet['gpu_time_fraction'])} GPU-time over its cap at the lowest clock "
            f"(+{unmet['excess_w_mean']:.0f} W mean)"
        )
    if not effects:
        effects.append("no throttling")
    effects += result.workload.chain_effects(s)
    delta = s["served_fraction"] - 1.0
    tokens = (
        f"{delta:+.0%} tokens/s vs {wl.offered_label}".replace("-", "−")
        if abs(delta) >= 0.005
        else f"tokens/s meet {wl.offered_label}"
    )
    for phase in s["phases"]:
        if phase.get("ttft_p99_s") and phase["ttft_p99_s"]["during"] is not None:
            p99 = phase["ttft_p99_s"]
            tokens += (
                f", p99 TTFT {_secs(p99['before'])} before / {_secs(p99['during'])} during / "
                f"{_secs(p99['after'])} after"
            )
        rates = phase["tokens_per_s"]
        if rates["during"] is not None and rates["before"]:
            change = rates["during"] / rates["before"] - 1.0
            tokens += f", {change:+.0%} during the {phase['event'].replace('_', ' ')}".replace("-", "−")
    if day is not None:
        tokens += f", {day[1]}"
    kinds = s["error_kinds"]
    errors = []
    if kinds["thermal_shutdown"]:
        errors.append(f"{kinds['thermal_shutdown']} thermal shutdown(s)")
    if kinds["node_reset"]:
        errors.append(f"{kinds['node_reset']} node reset(s)")
    parts = [
        ", ".join(causes) if causes else "power and cooling to spare",
        ", ".join(effects),
        tokens,
        ", ".join(errors) if errors else "no errors",
    ]
    return " → ".join(parts)


def _share(fraction: float) -> str:
    return f"{fraction:.0%}" if fraction >= 0.01 else f"{fraction:.2%}"


def _secs(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1e3:.0f} ms" if value < 1 else f"{value:.1f} s"
