"""Plotly figures as plain JSON-able dicts, drawn in the browser by static/js/charts.js.

Text that comes from AWS (names, tags) is HTML-escaped here: Plotly renders a subset of HTML in labels, and
escaped text shows as typed. The page embeds each figure with ``json_script``, which escapes it for HTML.
"""

from __future__ import annotations

import datetime as dt
from html import escape

import pandas as pd

INK, ACCENT, WARN, MUTED = "#1d2a22", "#1f7a4d", "#b3541e", "#5b6b61"
EMBODIED, RANGE = "#9cb8a6", "rgba(31,122,77,0.15)"
PALETTE = ["#1f7a4d", "#2c6fa8", "#b3541e", "#7a4d9c", "#a8862c", "#2a8f8f", "#8f2a5a", "#5b6b61"]
CONFIG = {"displaylogo": False, "responsive": True}


def text(value) -> str:
    return escape(str(value), quote=False)


def _times(series: pd.Series) -> list[str]:
    return [t.isoformat() for t in pd.to_datetime(series)]


def _values(series: pd.Series, digits: int = 6) -> list:
    return [None if pd.isna(v) else round(float(v), digits) for v in series]


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
    chart_layout = {**chart_layout, "shapes": [], "annotations": []}
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


def footprint_trend(chart_id: str, trend: pd.DataFrame, title: str, changes: list[dict] = (), bars=True) -> dict:
    """Operational CO2e (location-based, with its range; market-based as a dotted line) and embodied CO2e (kg), and
    energy (kWh) on the right axis."""
    times = _times(trend["time"])
    operational = {
        "name": "Operational CO2e, location-based (kg)",
        "x": times,
        "y": _values(trend["co2e_kg"]),
        "marker": {"color": ACCENT},
        "hovertemplate": "%{y:.3f} kg",
    }
    if bars:
        operational |= {
            "type": "bar",
            "error_y": {
                "type": "data",
                "symmetric": False,
                "color": MUTED,
                "thickness": 1,
                "array": _values(trend["co2e_kg_high"] - trend["co2e_kg"]),
                "arrayminus": _values(trend["co2e_kg"] - trend["co2e_kg_low"]),
            },
        }
        embodied = {
            "type": "bar",
            "name": "Embodied CO2e (kg)",
            "x": times,
            "y": _values(trend["embodied_co2e_kg"]),
            "marker": {"color": EMBODIED},
            "hovertemplate": "%{y:.3f} kg",
        }
        data = [operational, embodied]
    else:
        low = {
            "type": "scatter",
            "mode": "lines",
            "name": "Range low",
            "x": times,
            "y": _values(trend["co2e_kg_low"]),
            "line": {"width": 0},
            "showlegend": False,
            "hoverinfo": "skip",
        }
        high = {
            "type": "scatter",
            "mode": "lines",
            "name": "Operational CO2e range (kg)",
            "x": times,
            "y": _values(trend["co2e_kg_high"]),
            "fill": "tonexty",
            "fillcolor": RANGE,
            "line": {"width": 0},
            "hovertemplate": "%{y:.3f} kg",
        }
        operational |= {"type": "scatter", "mode": "lines", "line": {"color": ACCENT, "width": 2}}
        embodied = {
            "type": "scatter",
            "mode": "lines",
            "name": "Embodied CO2e (kg)",
            "x": times,
            "y": _values(trend["embodied_co2e_kg"]),
            "line": {"color": EMBODIED, "width": 1.5},
            "hovertemplate": "%{y:.3f} kg",
        }
        data = [low, high, operational, embodied]
    market = {  # beside location-based: a gap where a period lacks it (hours not yet re-estimated), never 0
        "type": "scatter",
        "mode": "lines",
        "name": "Operational CO2e, market-based (kg)",
        "x": times,
        "y": _values(trend["co2e_market_kg"]),
        "line": {"color": ACCENT, "width": 1.5, "dash": "dot"},
        "hovertemplate": "%{y:.3f} kg (market-based)",
    }
    energy = {
        "type": "scatter",
        "mode": "lines+markers" if len(times) < 60 else "lines",
        "name": "Energy (kWh)",
        "x": times,
        "y": _values(trend["energy_kwh"]),
        "yaxis": "y2",
        "line": {"color": INK, "width": 1.5},
        "marker": {"size": 4},
        "hovertemplate": "%{y:.3f} kWh",
    }
    chart_layout = layout(
        title,
        "kg CO2e",
        barmode="stack",
        yaxis2={"title": {"text": "kWh"}, "overlaying": "y", "side": "right", "rangemode": "tozero", "showgrid": False},
    )
    return figure(chart_id, [*data, market, energy], chart_layout, changes)


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
        title,
        "",
        barmode="stack",
        height=max(260, 28 * len(names) + 110),
        xaxis={"title": {"text": "kg CO2e"}},
        hovermode="y unified",
    )
    chart_layout["yaxis"] = {"automargin": True}
    return figure(chart_id, data, chart_layout)


def utilization(chart_id: str, series: pd.DataFrame, changes: list[dict]) -> dict:
    """Normalised CPU, GPU and memory utilization (%) per variant, and the instance count on the right axis."""
    data = []
    metrics = (("cpu_util_pct", "CPU", "solid"), ("gpu_util_pct", "GPU", "dash"), ("memory_util_pct", "Memory", "dot"))
    for index, (variant, rows) in enumerate(series.groupby("variant_name", sort=True)):
        color = PALETTE[index % len(PALETTE)]
        times = _times(rows["time"])
        for column, label, dash in metrics:
            if rows[column].notna().any():
                data.append(
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "name": f"{text(variant)} {label} %",
                        "x": times,
                        "y": _values(rows[column], 2),
                        "line": {"color": color, "dash": dash, "width": 1.5},
                        "hovertemplate": "%{y:.1f} %",
                    }
                )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{text(variant)} instances",
                "x": times,
                "y": _values(rows["instances"], 2),
                "yaxis": "y2",
                "line": {"color": color, "shape": "hv", "width": 3},
                "opacity": 0.35,
                "hovertemplate": "%{y:.2f}",
            }
        )
    chart_layout = layout(
        "Utilization per variant (normalised per vCPU / GPU)",
        "%",
        yaxis2={
            "title": {"text": "instances"},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
        },
    )
    chart_layout["yaxis"]["range"] = [0, 100]
    return figure(chart_id, data, chart_layout, changes)


def intensity(chart_id: str, trend: pd.DataFrame, changes: list[dict]) -> dict:
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "g CO2e per 1,000 inferences",
            "x": _times(trend["time"]),
            "y": _values(trend["gco2e_per_1k_invocations"], 4),
            "connectgaps": False,
            "line": {"color": ACCENT, "width": 1.5},
            "hovertemplate": "%{y:.3f} g",
        }
    ]
    return figure(chart_id, data, layout("Carbon per 1,000 inferences (operational + embodied)", "g CO2e"), changes)


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
