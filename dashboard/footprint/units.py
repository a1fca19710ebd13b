"""How the footprint's quantities are written for people, the same on pages, in mail and in chat."""


def kg(value, decimals: int = 2) -> str:
    """A mass in kg, switched to t (metric tons) from 1,000 kg; the unit is always printed."""
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value / 1000:,.{decimals}f} t"
    return f"{value:,.{decimals}f} kg"
