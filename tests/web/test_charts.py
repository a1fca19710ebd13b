"""The chart figures' edge cases, on frames shaped as the query layer returns them: one bucket, sparse series,
empty charts, the CO2e range in the legend, whole-number instance ticks, and partial buckets."""

import pandas as pd
import pytest

from dashboard.web import charts

DAY = pd.Timestamp("2026-11-20")


def trend(days: int = 3, coverage=None, start=DAY, step="D", **columns) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "time": pd.date_range(start, periods=days, freq=step),
            "co2e_kg": 2.0,
            "co2e_kg_low": 1.0,
            "co2e_kg_high": 4.0,
            "embodied_co2e_kg": 0.5,
            "co2e_market_kg": 1.5,
            "energy_kwh": 10.0,
            "gco2e_per_1k_invocations": 3.0,
        }
    )
    for name, values in columns.items():
        frame[name] = values
    if coverage is not None:
        frame["coverage"] = coverage
    return frame


def variants(instances=(1.0, 1.0), cpu=(20.0, 30.0), hours=(24, 24), name="AllTraffic") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": pd.date_range(DAY, periods=len(instances), freq="D"),
            "variant_name": name,
            "cpu_util_pct": list(cpu),
            "gpu_util_pct": None,
            "memory_util_pct": [40.0] * len(instances),
            "instances": list(instances),
            "hours": list(hours),
        }
    )


def traces(figure: dict, name: str) -> list[dict]:
    return [trace for trace in figure["data"] if trace["name"].startswith(name)]


def annotation_texts(figure: dict) -> list[str]:
    return [annotation["text"] for annotation in figure["layout"]["annotations"]]


@pytest.mark.parametrize("bars", [True, False])
def test_one_day_spans_one_day_labelled_by_its_date(bars):
    figure = charts.footprint_trend("c", trend(days=1), "t", bars=bars)
    axis = figure["layout"]["xaxis"]
    start, end = (pd.Timestamp(value) for value in axis["range"])
    assert end - start == pd.Timedelta(days=1) and start < DAY < end
    assert axis["ticktext"] == ["2026-11-20"] and axis["tickvals"] == [DAY.isoformat()]


def test_one_hour_spans_one_hour():
    figure = charts.intensity("c", trend(days=1, start=DAY + pd.Timedelta(hours=14), step="h"), [])
    axis = figure["layout"]["xaxis"]
    assert pd.Timestamp(axis["range"][1]) - pd.Timestamp(axis["range"][0]) == pd.Timedelta(hours=1)
    assert axis["ticktext"] == ["2026-11-20 14:00"]


def test_the_grain_names_the_bucket_one_bucket_cannot_tell():
    figure = charts.footprint_trend("c", trend(days=1), "t", grain="week")
    start, end = (pd.Timestamp(value) for value in figure["layout"]["xaxis"]["range"])
    assert end - start == pd.Timedelta(days=7)


@pytest.mark.parametrize(
    ("steps_hours", "bucket"), [((17, 21), 1.0), ((48, 24), 24.0), ((336,), 168.0), ((744, 672), 24 * 30.44)]
)
def test_without_a_grain_the_bucket_is_the_widest_grain_between_the_rows(steps_hours, bucket):
    times = pd.Series([DAY + pd.Timedelta(hours=sum(steps_hours[:n])) for n in range(len(steps_hours) + 1)])
    assert charts.bucket_hours(times) == bucket


def test_a_long_daily_axis_leaves_ticks_to_plotly_but_labels_dates():
    axis = charts.footprint_trend("c", trend(days=40), "t")["layout"]["xaxis"]
    assert "tickvals" not in axis and axis["tickformat"] == "%b %-d" and axis["hoverformat"] == "%Y-%m-%d"


def test_sparse_series_get_markers_and_dense_ones_do_not():
    assert charts.line_mode([1.0] * 200) == "lines"
    assert charts.line_mode([0.0] * 190 + [1.0] * 10) == "lines+markers"  # serverless: mostly idle hours
    assert charts.line_mode([1.0] * 100 + [None] + [1.0] * 100) == "lines+markers"  # a gap the line does not cross
    hourly = trend(days=200, step="h", gco2e_per_1k_invocations=[None, 3.0] * 100)
    assert traces(charts.intensity("c", hourly, []), "g CO2e")[0]["mode"] == "lines+markers"


def test_the_serverless_utilization_chart_says_why_it_is_empty():
    figure = charts.utilization("c", variants(instances=(0.0, 0.0), cpu=(None, None)).assign(memory_util_pct=None), [])
    assert figure["data"] == []  # no flat zero line of instances a serverless variant never ran
    assert annotation_texts(figure) == [charts.SERVERLESS_UTILIZATION]


def test_empty_charts_say_there_is_no_data():
    empty = trend(days=0)
    assert annotation_texts(charts.footprint_trend("c", empty, "t")) == [charts.NO_DATA]
    assert annotation_texts(charts.intensity("c", empty, [])) == [charts.NO_DATA]
    assert annotation_texts(charts.utilization("c", pd.DataFrame(), [])) == [charts.NO_DATA]
    none_invoked = trend(days=3, gco2e_per_1k_invocations=None)
    assert annotation_texts(charts.intensity("c", none_invoked, [])) == ["No inferences in this period"]
    assert annotation_texts(charts.footprint_trend("c", trend(), "t")) == []


@pytest.mark.parametrize("bars", [True, False])
def test_the_co2e_range_has_its_own_legend_entry_in_co2es_group(bars):
    figure = charts.footprint_trend("c", trend(), "t", bars=bars)
    (entry,) = [trace for trace in figure["data"] if trace["name"] == charts.RANGE_NAME]
    assert entry.get("showlegend", True) and entry["legendgroup"] == "operational"
    assert traces(figure, "Operational CO2e, location-based")[0]["legendgroup"] == "operational"
    assert all("error_y" not in trace for trace in figure["data"] if trace["name"] != charts.RANGE_NAME)


def test_the_range_whiskers_reach_from_low_to_high():
    (entry,) = traces(charts.footprint_trend("c", trend(), "t"), charts.RANGE_NAME)
    assert entry["y"] == [2.0] * 3 and entry["error_y"]["array"] == [2.0] * 3
    assert entry["error_y"]["arrayminus"] == [1.0] * 3 and entry["customdata"][0] == [1.0, 4.0]
    assert entry["x"][0] == (DAY - pd.Timedelta(hours=6)).isoformat()  # left of the bar's centre (energy's markers)


@pytest.mark.parametrize(("most", "dtick", "top"), [(0.842, 1, 1), (3.0, 1, 3), (12.0, 3, 12)])
def test_instance_counts_get_whole_number_ticks(most, dtick, top):
    figure = charts.utilization("c", variants(instances=(most / 2, most)), [])
    axis = figure["layout"]["yaxis2"]
    assert axis["tickformat"] == "d" and axis["dtick"] == dtick and axis["tickmode"] == "linear"
    assert top <= axis["range"][1] < top + 1


def test_partial_bars_are_hatched_with_the_share_in_the_hover():
    figure = charts.footprint_trend("c", trend(coverage=[0.5, 1.0, 0.37]), "t")
    whole, hatched = traces(figure, "Operational CO2e, location-based")
    assert whole["y"] == [None, 2.0, None] and "pattern" not in whole.get("marker", {})
    assert hatched["y"] == [2.0, None, 2.0] and hatched["marker"]["pattern"]["shape"] == "/"  # as is, not a drop
    assert hatched["customdata"] == [
        "<br>partial: 50 % of the day collected",
        "",
        "<br>partial: 37 % of the day collected",
    ]
    assert "%{customdata}" in hatched["hovertemplate"]
    assert not hatched["showlegend"] and hatched["legendgroup"] == whole["legendgroup"]  # one legend entry, solid
    embodied = traces(figure, "Embodied CO2e")
    assert [trace["y"] for trace in embodied] == [[None, 0.5, None], [0.5, None, 0.5]]
    assert charts.PARTIAL_CAPTION in annotation_texts(figure)


def test_bars_are_as_wide_as_most_of_their_bucket():
    (bar,) = traces(charts.footprint_trend("c", trend(days=1), "t", grain="day"), "Operational CO2e, location")
    assert bar["width"] == 19.2 * 3600 * 1000  # ms: one bucket has no spacing for Plotly to size it by


def test_partial_line_ends_are_dashed_with_open_markers():
    figure = charts.footprint_trend("c", trend(days=4, coverage=[1.0, 1.0, 1.0, 0.25]), "t", bars=False)
    solid, dashed, marker = traces(figure, "Energy (kWh)")
    assert solid["y"] == [10.0, 10.0, 10.0, None]
    assert dashed["y"] == [None, None, 10.0, 10.0] and dashed["line"]["dash"] == "dash"
    assert not dashed["showlegend"] and dashed["legendgroup"] == solid["legendgroup"]
    assert marker["y"] == [None, None, None, 10.0] and marker["marker"]["symbol"] == "circle-open"
    assert marker["customdata"][-1] == "<br>partial: 25 % of the day collected"


def test_without_a_coverage_column_every_bucket_is_whole():
    figure = charts.footprint_trend("c", trend(), "t")
    assert len(traces(figure, "Operational CO2e, location-based")) == 1 and len(traces(figure, "Energy (kWh)")) == 1
    assert annotation_texts(figure) == []


def test_a_variants_partial_last_day_is_marked_on_the_utilization_chart():
    figure = charts.utilization("c", variants(hours=(24, 6)), [], grain="day")
    cpu = traces(figure, "AllTraffic CPU")
    assert len(cpu) == 3 and cpu[0]["y"] == [20.0, None] and cpu[2]["y"] == [None, 30.0]
    assert cpu[2]["customdata"][-1] == "<br>partial: 25 % of the day collected"
    assert charts.PARTIAL_CAPTION in annotation_texts(figure)
    hourly = charts.utilization("c", variants(hours=(1, 1)), [], grain="hour")
    assert len(traces(hourly, "AllTraffic CPU")) == 1


def test_variant_names_are_escaped():
    figure = charts.utilization("c", variants(name="<b>v</b>"), [])
    assert {trace["name"] for trace in figure["data"]} >= {
        "&lt;b&gt;v&lt;/b&gt; CPU %",
        "&lt;b&gt;v&lt;/b&gt; instances",
    }
