"""The digest's chart: a bar per day of the week's CO2e, drawn with Pillow on the server (mail clients run no
JavaScript and many block remote images, so the PNG travels inside the message)."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

SCALE = 2  # drawn at twice the displayed size, for sharp text on high-density screens
WIDTH, HEIGHT = 600, 240
BAR, AXIS, TEXT, MUTED, BACKGROUND = "#2f855a", "#cbd5e0", "#1a202c", "#718096", "#ffffff"
TOP, BOTTOM, LEFT, RIGHT = 44, 36, 16, 16


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled font (no font files needed); the fixed-size bitmap one where FreeType is missing."""
    try:
        return ImageFont.load_default(size=size * SCALE)
    except (TypeError, ImportError, OSError):  # Pillow < 10.1, or built without FreeType
        return ImageFont.load_default()


def _centered(draw: ImageDraw.ImageDraw, x: float, y: float, text: str, font, fill: str) -> None:  # noqa: PLR0913 - mirrors ImageDraw.text's own arguments
    width = draw.textlength(text, font=font)
    draw.text((x - width / 2, y), text, font=font, fill=fill)


def daily_bars(days: list[tuple[str, float]], title: str, unit: str = "kg") -> bytes:
    """PNG bytes of one bar per ``(label, value)``, its value above it and its label below, under ``title``."""
    image = Image.new("RGB", (WIDTH * SCALE, HEIGHT * SCALE), BACKGROUND)
    draw = ImageDraw.Draw(image)
    title_font, label_font = _font(15), _font(12)
    draw.text((LEFT * SCALE, 10 * SCALE), title, font=title_font, fill=TEXT)
    top, bottom = TOP * SCALE, (HEIGHT - BOTTOM) * SCALE
    left, right = LEFT * SCALE, (WIDTH - RIGHT) * SCALE
    draw.line([(left, bottom), (right, bottom)], fill=AXIS, width=SCALE)
    highest = max((value for _, value in days), default=0.0) or 1.0
    slot = (right - left) / max(len(days), 1)
    for index, (label, value) in enumerate(days):
        middle = left + slot * (index + 0.5)
        height = (bottom - top - 18 * SCALE) * max(value, 0.0) / highest
        if height > 0:
            draw.rectangle([middle - slot * 0.3, bottom - height, middle + slot * 0.3, bottom - SCALE], fill=BAR)
        _centered(draw, middle, bottom - height - 17 * SCALE, f"{value:,.1f} {unit}", label_font, MUTED)
        _centered(draw, middle, bottom + 6 * SCALE, label, label_font, TEXT)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
