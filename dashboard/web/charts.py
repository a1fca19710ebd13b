"""Plotly figures as plain JSON-able dicts, drawn in the browser by static/js/charts.js.

Text that comes from AWS (names, tags) is HTML-escaped here: Plotly renders a subset of HTML in labels, and
escaped text shows as typed. The page embeds each figure with ``json_script``, which escapes it for HTML.

Edge cases are drawn here, once, for every chart: one bucket gets an axis of one bucket (not Plotly's
milliseconds around an instant), sparse series get markers, an empty chart says why, and a partial bucket
(``coverage`` < 1 in the trend frame) is hatched or dashed with its share in the hover, never drawn as a drop.
"""

from __future__ import annotations

import datetime as dt
import math
from html import escape

import pandas as pd

INK, ACCENT, WARN, MUTED = "#1d2a22", "#1f7a4d", "#b3541e", "#5b6b61"
EMBODIED, RANGE, RANGE_INK = "#9cb8a6", "rgba(31,122,77,0.15)", "#0b3d24"
PALETTE = ["#1f7a4d", "#2c6fa8", "#b3541e", "#7a4d9c", "#a8862c", "#2a8f8f", "#8f2a5a", "#5b6b61"]
CONFIG = {"displaylogo": False, "responsive": True}

BUCKET_HOURS = {"hour": 1.0, "day": 24.0, "week": 168.0, "month": 24.0 * 30.44}
SHORTEST_BUCKET_HOURS = {"hour": 1.0, "day": 24.0, "week": 168.0, "month": 24.0 * 28}  # February
MARKERS_BELOW_POINTS = 60  # fewer values than this (or any gap): every point gets a marker, lone ones stay visible
TICK_EVERY_BUCKET_UP_TO = 14  # day/week/month axes label each bucket up to this many; Plotly picks beyond
PARTIAL_PATTERN = "/"  # Plotly's bar pattern for a partial bucket
RANGE_NAME = "CO2e range (low–high)"
MS_PER_HOUR = 3_600_000  # a date axis counts milliseconds
BAR_WIDTH_BUCKETS = 0.8  # a bar fills this share of its bucket (Plotly's default gap between bars)
RANGE_SHIFT_BUCKETS = 0.25  # the range whiskers sit this far left of their bar's centre (bars are 0.8 wide)
PARTIAL_CAPTION = "Hatched bars, dashed lines, open markers: partial period"
NO_DATA = "No data in this period"
NO_UTILIZATION = "No utilization data in this period"
SERVERLESS_UTILIZATION = "Serverless endpoints publish no instance utilization"


def text(value) -> str:
    return escape(str(value), quote=False)


def _times(series: pd.Series) -> list[str]:
    return [t.isoformat() for t in pd.to_datetime(series)]


def _values(series: pd.Series, digits: int = 6) -> list:
    return [None if pd.isna(v) else round(float(v), digits) for v in series]


def bucket_hours(times: pd.Series, grain: str | None = None) -> float:
    """The width of one bucket in hours: the grain's; else the widest grain that fits in the smallest step between
    buckets (a sparse hourly series, 17 hours between its rows, is still hourly); else (one bucket) a day when it
    starts at midnight and an hour otherwise."""
    if grain in BUCKET_HOURS:
        return BUCKET_HOURS[grain]
    stamps = pd.Series(pd.to_datetime(times).unique()).sort_values()
    if len(stamps) > 1:
        step_hours = float(stamps.diff().min() / pd.Timedelta(hours=1))
        fitting = [name for name, shortest in SHORTEST_BUCKET_HOURS.items() if shortest <= step_hours]
        return BUCKET_HOURS[fitting[-1]] if fitting else step_hours
    if len(stamps) == 1 and stamps.iloc[0] != stamps.iloc[0].normalize():
        return 1.0
    return 24.0


def bucket_label(hours: float) -> str:
    """What one bucket is called in a hover note: 'hour', 'day', 'week' or 'month'."""
    return min(BUCKET_HOURS, key=lambda grain: abs(BUCKET_HOURS[grain] - hours))


def _date_format(hours: float) -> str:
    return "%Y-%m-%d %H:00" if hours < 24 else "%Y-%m-%d"


def time_axis(times: pd.Series, hours: float) -> dict:
    """An x axis half a bucket wider than the buckets on each side (so one bucket spans one bucket, not a
    millisecond), date-only labels from the day grain up, one label per bucket when there are few."""
    stamps = pd.Series(pd.to_datetime(times).unique()).sort_values()
    axis: dict = {"type": "date", "hoverformat": _date_format(hours)}
    if stamps.empty:
        return axis
    half = pd.Timedelta(hours=hours / 2)
    axis["range"] = [(stamps.iloc[0] - half).isoformat(), (stamps.iloc[-1] + half).isoformat()]
    if hours >= 24 or len(stamps) == 1:
        label = "%b %-d" if hours >= 24 else "%b %-d %H:00"
        axis["tickformat"] = label
        if len(stamps) <= TICK_EVERY_BUCKET_UP_TO:
            axis |= {"tickmode": "array", "tickvals": [t.isoformat() for t in stamps]}
            axis["ticktext"] = [t.strftime(_date_format(hours)) for t in stamps]
    return axis


def line_mode(values: list) -> str:
    """'lines+markers' for a sparse series (few points, or gaps a line would not cross), else 'lines'."""
    shown = [index for index, value in enumerate(values) if value is not None and value != 0]
    gaps = bool(shown) and any(values[index] is None for index in range(shown[0], shown[-1] + 1))
    return "lines+markers" if len(shown) < MARKERS_BELOW_POINTS or gaps else "lines"


def coverages(trend: pd.DataFrame) -> list[float]:
    """Each bucket's share (0–1) of hours inside the view and the collected span; 1.0 where the frame has none."""
    if "coverage" not in trend.columns:
        return [1.0] * len(trend)
    return [1.0 if pd.isna(value) else min(1.0, float(value)) for value in trend["coverage"]]


def partial_notes(shares: list[float], hours: float) -> list[str]:
    """The hover note of each bucket: '' when complete, else '<br>partial: 37 % of the day collected'."""
    unit = bucket_label(hours)
    return ["" if share >= 1 else f"<br>partial: {100 * share:.0f} % of the {unit} collected" for share in shares]


def empty_annotation(message: str) -> dict:
    return {
        "text": message,
        "xref": "paper",
        "yref": "paper",
        "x": 0.5,
        "y": 0.5,
        "showarrow": False,
        "font": {"size": 14, "color": MUTED},
    }


def partial_caption() -> dict:
    return {
        "text": PARTIAL_CAPTION,
        "xref": "paper",
        "yref": "paper",
        "x": 0,
        "y": 1,
        "xanchor": "left",
        "yanchor": "top",
        "showarrow": False,
        "bgcolor": "rgba(255,255,255,0.85)",
        "font": {"size": 11, "color": MUTED},
    }


def layout(title: str, yaxis: str, **extra) -> dict:
    return {
        "title": {"text": title, "font": {"size": 15}},
        "height": 340,
        "margin": {"l": 60, "r": 60, "t": 40, "b": 40},
        "yaxis": {"title": {"text": yaxis}, "rangemode": "tozero"},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.18},
        "paper_bgcolor": "#fff",
        "plot_bgcolor": "#fff",
        "font": {"color": INK},
        **extra,
    }


def figure(chart_id: str, data: list[dict], chart_layout: dict, changes: list[dict] = ()) -> dict:
    """A figure with the configuration changes drawn on it as dotted lines with their labels."""
    chart_layout = {**chart_layout, "shapes": [], "annotations": list(chart_layout.get("annotations", []))}
    for index, change in enumerate(changes):
        at = change["at"].isoformat()
        chart_layout["shapes"].append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": at,
                "x1": at,
                "y0": 0,
                "y1": 1,
                "line": {"color": WARN, "width": 1.5, "dash": "dot"},
            }
        )
        chart_layout["annotations"].append(
            {
                "x": at,
                "xref": "x",
                "yref": "paper",
                "y": 1 - 0.09 * (index % 3),
                "text": text(change["text"]),
                "showarrow": False,
                "xanchor": "right",
                "yanchor": "top",
                "bgcolor": "rgba(255,255,255,0.85)",
                "font": {"size": 11, "color": WARN},
            }
        )
    return {"id": chart_id, "data": data, "layout": chart_layout, "config": CONFIG}


def line_traces(trace: dict, values: list, notes: list[str], hover: str) -> list[dict]:
    """A line trace as drawn: solid over complete buckets; a dashed segment into and out of each partial bucket
    and an open marker on it whose hover says how much of the bucket was collected. ``trace`` carries the
    name, x, axes and style; ``hover`` is the value's hover template (e.g. '%{y:.3f} kg')."""
    partial = [bool(note) for note in notes]
    solid = [None if part else value for value, part in zip(values, partial, strict=True)]
    group = trace.get("legendgroup", trace["name"])
    style = trace.get("line", {})
    traces = [
        {
            **trace,
            "type": "scatter",
            "mode": line_mode(solid),
            "y": solid,
            "legendgroup": group,
            "marker": {"size": 5, "color": style.get("color"), **trace.get("marker", {})},
            "hovertemplate": hover,
        }
    ]
    if any(partial):
        near = {i + step for i, part in enumerate(partial) if part for step in (-1, 0, 1)}
        common = {key: trace[key] for key in ("x", "yaxis") if key in trace}
        traces += [
            {
                **common,
                "type": "scatter",
                "mode": "lines",
                "name": trace["name"],
                "y": [value if i in near else None for i, value in enumerate(values)],
                "legendgroup": group,
                "showlegend": False,
                "hoverinfo": "skip",
                "line": {**style, "dash": "dash"},
            },
            {
                **common,
                "type": "scatter",
                "mode": "markers",
                "name": f"{trace['name']} (partial)",
                "y": [value if part else None for value, part in zip(values, partial, strict=True)],
                "legendgroup": group,
                "showlegend": False,
                "customdata": notes,
                "marker": {"symbol": "circle-open", "size": 8, "color": style.get("color")},
                "hovertemplate": hover + "%{customdata}",
            },
        ]
    return traces


def bar_traces(trace: dict, values: list, notes: list[str], hover: str, hours: float) -> list[dict]:
    """Bars of the complete buckets and, in the same legend entry, hatched bars of the partial ones with the share
    collected in their hover (two traces: Plotly draws a legend swatch like the first bar, hatched or not). The
    width is set (ms, on a date axis): Plotly sizes bars by the spacing of their x values, which one bucket lacks."""
    partial = [bool(note) for note in notes]
    bars = {
        **trace,
        "type": "bar",
        "legendgroup": trace.get("legendgroup", trace["name"]),
        "width": round(hours * MS_PER_HOUR * BAR_WIDTH_BUCKETS),
        "hovertemplate": hover,
    }
    complete = {**bars, "y": [None if part else value for value, part in zip(values, partial, strict=True)]}
    if not any(partial):
        return [complete]
    hatched = {
        **bars,
        "name": f"{trace['name']} (partial)",
        "y": [value if part else None for value, part in zip(values, partial, strict=True)],
        "showlegend": False,
        "customdata": notes,
        "marker": {**trace.get("marker", {}), "pattern": {"shape": PARTIAL_PATTERN, "solidity": 0.35}},
        "hovertemplate": hover + "%{customdata}",
    }
    return [complete, hatched]


def co2e_range(trend: pd.DataFrame, hours: float) -> dict:
    """The low–high range of operational CO2e as whiskers on its bar, in its own legend entry and in CO2e's legend
    group: dark green as the bar, and a quarter of a bucket left of the bar's centre, where the energy line's
    markers are not (its high end, proportional to energy, would otherwise sit on them like their error bars)."""
    low, high = _values(trend["co2e_kg_low"]), _values(trend["co2e_kg_high"])
    shift = pd.Timedelta(hours=hours * RANGE_SHIFT_BUCKETS)
    return {
        "type": "scatter",
        "mode": "markers",
        "name": RANGE_NAME,
        "legendgroup": "operational",
        "x": _times(pd.to_datetime(trend["time"]) - shift),
        "y": _values(trend["co2e_kg"]),
        "marker": {"symbol": "line-ew-open", "size": 10, "color": RANGE_INK, "line": {"width": 2, "color": RANGE_INK}},
        "error_y": {
            "type": "data",
            "symmetric": False,
            "color": RANGE_INK,
            "thickness": 2,
            "width": 5,
            "array": _values(trend["co2e_kg_high"] - trend["co2e_kg"]),
            "arrayminus": _values(trend["co2e_kg"] - trend["co2e_kg_low"]),
        },
        "customdata": [[lo, hi] for lo, hi in zip(low, high, strict=True)],
        "hovertemplate": "%{customdata[0]:.3f}–%{customdata[1]:.3f} kg",
    }


def co2e_band(times: list[str], trend: pd.DataFrame) -> list[dict]:
    """The low–high range of operational CO2e as a shaded band (line charts), with its legend entry."""
    low = {
        "type": "scatter",
        "mode": "lines",
        "name": "Range low",
        "legendgroup": "operational",
        "x": times,
        "y": _values(trend["co2e_kg_low"]),
        "line": {"width": 0},
        "showlegend": False,
        "hoverinfo": "skip",
    }
    high = {
        "type": "scatter",
        "mode": "lines",
        "name": RANGE_NAME,
        "legendgroup": "operational",
        "x": times,
        "y": _values(trend["co2e_kg_high"]),
        "fill": "tonexty",
        "fillcolor": RANGE,
        "line": {"width": 0},
        "hovertemplate": "%{y:.3f} kg (high)",
    }
    return [low, high]


def footprint_trend(  # noqa: PLR0913 - the views' call plus the grain, which one bucket cannot tell
    chart_id: str,
    trend: pd.DataFrame,
    title: str,
    changes: list[dict] = (),
    bars: bool = True,
    grain: str | None = None,
) -> dict:
    """Operational CO2e (location-based, with its range; market-based as a dotted line) and embodied CO2e (kg), and
    energy (kWh) on the right axis; partial buckets hatched (bars) or dashed (lines)."""
    times = _times(trend["time"])
    hours = bucket_hours(trend["time"], grain)
    notes = partial_notes(coverages(trend), hours)
    operational = {"name": "Operational CO2e, location-based (kg)", "x": times, "legendgroup": "operational"}
    embodied = {"name": "Embodied CO2e (kg)", "x": times}
    co2e, embodied_kg = _values(trend["co2e_kg"]), _values(trend["embodied_co2e_kg"])
    if bars:
        data = [
            *bar_traces({**operational, "marker": {"color": ACCENT}}, co2e, notes, "%{y:.3f} kg", hours),
            co2e_range(trend, hours),
            *bar_traces({**embodied, "marker": {"color": EMBODIED}}, embodied_kg, notes, "%{y:.3f} kg", hours),
        ]
    else:
        data = [
            *co2e_band(times, trend),
            *line_traces({**operational, "line": {"color": ACCENT, "width": 2}}, co2e, notes, "%{y:.3f} kg"),
            *line_traces({**embodied, "line": {"color": EMBODIED, "width": 1.5}}, embodied_kg, notes, "%{y:.3f} kg"),
        ]
    market = {  # beside location-based: a gap where a period lacks it (hours not yet re-estimated), never 0
        "name": "Operational CO2e, market-based (kg)",
        "x": times,
        "line": {"color": ACCENT, "width": 1.5, "dash": "dot"},
    }
    energy = {"name": "Energy (kWh)", "x": times, "yaxis": "y2", "line": {"color": INK, "width": 1.5}}
    data += line_traces(market, _values(trend["co2e_market_kg"]), notes, "%{y:.3f} kg (market-based)")
    data += line_traces(energy, _values(trend["energy_kwh"]), notes, "%{y:.3f} kWh")
    chart_layout = layout(
        title,
        "kg CO2e",
        barmode="stack",
        xaxis=time_axis(trend["time"], hours),
        yaxis2={"title": {"text": "kWh"}, "overlaying": "y", "side": "right", "rangemode": "tozero", "showgrid": False},
        annotations=explanations(NO_DATA if trend.empty else "", notes),
    )
    return figure(chart_id, data, chart_layout, changes)


def explanations(empty: str, notes: list[str]) -> list[dict]:
    """The annotations that explain a chart: why it is empty, and the partial-period caption."""
    if empty:
        return [empty_annotation(empty)]
    return [partial_caption()] if any(notes) else []


def breakdown_bars(chart_id: str, rows: pd.DataFrame, label: str, title: str, limit: int = 15) -> dict:
    top = rows.head(limit).iloc[::-1]
    names = [text(value) for value in top[label]]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": "Operational CO2e (kg)",
            "y": names,
            "x": _values(top["co2e_kg"]),
            "marker": {"color": ACCENT},
            "hovertemplate": "%{x:.3f} kg",
        },
        {
            "type": "bar",
            "orientation": "h",
            "name": "Embodied CO2e (kg)",
            "y": names,
            "x": _values(top["embodied_co2e_kg"]),
            "marker": {"color": EMBODIED},
            "hovertemplate": "%{x:.3f} kg",
        },
    ]
    chart_layout = layout(
        text(title),  # "CO2e by tag <key>": a tag key is the customer's text
        "",
        barmode="stack",
        height=max(260, 28 * len(names) + 110),
        xaxis={"title": {"text": "kg CO2e"}},
        hovermode="y unified",
        annotations=explanations(NO_DATA if top.empty else "", []),
    )
    chart_layout["yaxis"] = {"automargin": True}
    return figure(chart_id, data, chart_layout)


def last_bucket_notes(rows: pd.DataFrame, hours: float) -> list[str]:
    """Hover notes of one variant's buckets where only the last may be partial: its variant-hours (``hours``)
    short of the bucket's. Hourly buckets are whole by construction."""
    shares = [1.0] * len(rows)
    if hours > 1 and "hours" in rows.columns and len(rows):
        shares[-1] = min(1.0, float(rows["hours"].iloc[-1]) / hours)
    return partial_notes(shares, hours)


def count_axis(most_instances: float) -> dict:
    """The instance-count axis: whole-number ticks (a mean of 0.42 instances still reads against 0 and 1)."""
    top = max(1, math.ceil(most_instances))
    return {
        "title": {"text": "instances"},
        "overlaying": "y",
        "side": "right",
        "showgrid": False,
        "range": [0, top * 1.05],
        "tickmode": "linear",
        "tick0": 0,
        "dtick": max(1, math.ceil(top / 5)),
        "tickformat": "d",
    }


def variant_traces(variant: str, rows: pd.DataFrame, color: str, hours: float) -> list[dict]:
    """One variant's CPU, GPU and memory utilization (%) and, where it ran instances, its instance count."""
    times, notes, data = _times(rows["time"]), last_bucket_notes(rows, hours), []
    trace: dict
    metrics = (("cpu_util_pct", "CPU", "solid"), ("gpu_util_pct", "GPU", "dash"), ("memory_util_pct", "Memory", "dot"))
    for column, label, dash in metrics:
        if column in rows and rows[column].notna().any():
            trace = {"name": f"{text(variant)} {label} %", "x": times, "line": {"color": color, "dash": dash}}
            data += line_traces(trace, _values(rows[column], 2), notes, "%{y:.1f} %")
    if (rows["instances"].fillna(0) > 0).any():  # serverless variants run no instances: no flat zero line
        trace = {"name": f"{text(variant)} instances", "x": times, "yaxis": "y2", "opacity": 0.35}
        trace["line"] = {"color": color, "shape": "hv", "width": 3}
        data += line_traces(trace, _values(rows["instances"], 2), notes, "%{y:.2f}")
    return data


def utilization_gap(series: pd.DataFrame, data: list[dict]) -> str:
    """Why the utilization chart shows no utilization line, or '' when it shows one."""
    if any(trace.get("yaxis") != "y2" for trace in data):
        return ""
    if series.empty:
        return NO_DATA
    return NO_UTILIZATION if data else SERVERLESS_UTILIZATION


def utilization(chart_id: str, series: pd.DataFrame, changes: list[dict], grain: str | None = None) -> dict:
    """Normalised CPU, GPU and memory utilization (%) per variant, and the instance count on the right axis."""
    times = series["time"] if "time" in series else pd.Series(dtype="datetime64[ns]")
    hours = bucket_hours(times, grain)
    data: list[dict] = []
    groups = series.groupby("variant_name", sort=True) if not series.empty else []
    for index, (variant, rows) in enumerate(groups):
        data += variant_traces(variant, rows, PALETTE[index % len(PALETTE)], hours)
    instances = series["instances"].max() if "instances" in series and not series.empty else 0
    notes = [note for trace in data for note in trace.get("customdata", [])]
    chart_layout = layout(
        "Utilization per variant (normalised per vCPU / GPU)",
        "%",
        xaxis=time_axis(times, hours),
        yaxis2=count_axis(0 if pd.isna(instances) else float(instances)),
        annotations=explanations(utilization_gap(series, data), notes),
    )
    chart_layout["yaxis"]["range"] = [0, 100]
    return figure(chart_id, data, chart_layout, changes)


def intensity(chart_id: str, trend: pd.DataFrame, changes: list[dict], grain: str | None = None) -> dict:
    """Grams of CO2e (operational + embodied) per 1,000 inferences; a gap, never zero, where nothing was invoked."""
    hours = bucket_hours(trend["time"], grain)
    notes = partial_notes(coverages(trend), hours)
    values = _values(trend["gco2e_per_1k_invocations"], 4)
    trace = {"name": "g CO2e per 1,000 inferences", "x": _times(trend["time"]), "connectgaps": False}
    trace["line"] = {"color": ACCENT, "width": 1.5}
    empty = NO_DATA if trend.empty else "No inferences in this period" if all(v is None for v in values) else ""
    chart_layout = layout(
        "Carbon per 1,000 inferences (operational + embodied)",
        "g CO2e",
        xaxis=time_axis(trend["time"], hours),
        annotations=explanations(empty, notes),
    )
    return figure(chart_id, line_traces(trace, values, notes, "%{y:.3f} g"), chart_layout, changes)


def change_label(variant: str, before: dict, after: dict) -> str | None:
    """'variant A moved from ml.g5.2xlarge to ml.g5.xlarge', or its scaling, or None when nothing visible changed."""

    def kind(config):
        return config["instance_type"] or f"serverless {config['serverless_memory_mb']} MB"

    def count(config):
        return config["initial_instance_count"] or config["current_instance_count"]  # configured, not autoscaled

    if kind(before) != kind(after):
        moved = f"variant {variant} moved from {kind(before)} to {kind(after)}"
        return moved + (f" ({count(before)} → {count(after)} instances)" if count(before) != count(after) else "")
    if count(before) != count(after) and after["instance_type"]:
        return f"variant {variant} went from {count(before)} to {count(after)} instances"
    return None


def config_changes(configs: list[dict], start: dt.datetime, end: dt.datetime) -> list[dict]:
    """The visible changes between consecutive configurations of each variant, within [start, end)."""
    changes, previous = [], {}
    for config in sorted(configs, key=lambda c: (c["variant_name"], c["valid_from"])):
        before = previous.get(config["variant_name"])
        previous[config["variant_name"]] = config
        if before and start <= config["valid_from"] < end:
            label = change_label(config["variant_name"], before, config)
            if label:
                changes.append({"at": config["valid_from"], "text": label, "variant": config["variant_name"]})
    return sorted(changes, key=lambda change: change["at"])
