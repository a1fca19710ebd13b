from django import template
from django.utils.html import format_html, json_script

from dashboard.footprint import units

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


register.filter("kg", units.kg)


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key)
