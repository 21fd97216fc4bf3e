"""Bar charts drawn on the server as SVG: no script, nothing the Content-Security-Policy has to allow, and readable
without the page's styles. One horizontal bar per month, so month names fit on a phone; in Persian the bars grow
from the right. The chart is a picture of the table beside it (which screen readers read instead)."""

from dataclasses import dataclass

from hub_web.open_data import Table, written

WIDTH, ROW, LABEL, VALUE = 340, 26, 112, 76  # room for "Ordibehesht 1405" and for "کمتر از ۵"
GHOST = 6  # a hidden count gets a stub, not a length that would hint at its size


@dataclass(frozen=True)
class Bar:
    label: str
    text: str
    x: float
    y: float
    width: float
    label_x: float
    value_x: float
    hidden: bool


@dataclass(frozen=True)
class Chart:
    title: str
    height: int
    direction: str  # text runs from `x` towards the end of the line: leftwards in Persian
    bars: list[Bar]


def bar_chart(table: Table, lang: str, threshold: int, total_row: bool = True) -> Chart:
    """The chart of `table`'s charted column, for every row but the total (left to the table; `total_row=False`:
    the table has none). A long label is shortened: the table beside it holds it whole."""
    months = table.rows[:-1] if total_row else table.rows
    values = [numbers[table.charted] for _, numbers in months]
    ceiling = table.ceiling or max((n.value for n in values if n.value and not n.suppressed), default=1)
    span = WIDTH - LABEL - VALUE
    rtl = lang == "fa"
    bars = []
    for row, ((label, _), number) in enumerate(zip(months, values)):
        length = GHOST if number.suppressed else span * (number.value or 0) / ceiling
        start = WIDTH - LABEL - length if rtl else LABEL
        bars.append(Bar(label=_short(label), text=written(number, lang, threshold), x=round(start, 1), y=row * ROW + 4, width=round(length, 1),
                        label_x=WIDTH - 4 if rtl else 4, value_x=round(start - 4 if rtl else start + length + 4, 1),
                        hidden=number.suppressed))
    return Chart(title=table.title, height=len(bars) * ROW + 4, direction="rtl" if rtl else "ltr", bars=bars)


def _short(label: str, longest: int = 18) -> str:
    return label if len(label) <= longest else label[:longest - 1] + "…"
