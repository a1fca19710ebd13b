"""Reading pages the way a user does: tables by id, as lists of cell texts."""

from html.parser import HTMLParser


class _Tables(HTMLParser):
    def __init__(self, wanted: str):
        super().__init__()
        self.wanted, self.depth, self.rows, self.cell = wanted, 0, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and (dict(attrs).get("id") == self.wanted or self.depth):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table(page: str, table_id: str) -> list[list[str]]:
    """Header row then body rows of the table with this id; [] when the page has none."""
    parser = _Tables(table_id)
    parser.feed(page)
    return parser.rows


def number(text: str) -> float | None:
    """A cell as the page prints it ("1,234.5", "—") back to a number."""
    return None if text in ("—", "") else float(text.replace(",", ""))
