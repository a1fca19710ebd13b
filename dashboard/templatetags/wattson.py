from django import template
from django.utils.html import format_html, json_script

register = template.Library()


@register.simple_tag
def chart(figure: dict):
    """A chart's container and its figure as escaped JSON, drawn by static/js/charts.js."""
    return format_html(
        '<div class="chart" id="{}" role="img" aria-label="{}"></div>{}',
        figure["id"],
        figure["layout"]["title"]["text"],
        json_script(figure, f"{figure['id']}-figure"),
    )


@register.filter
def kg(value, decimals: int = 2) -> str:
    """A mass in kg, switched to t (metric tons) from 1,000 kg; the unit is always printed."""
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value / 1000:,.{decimals}f} t"
    return f"{value:,.{decimals}f} kg"


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key)
