"""Tables of measured rates beside their ceilings, printed as plain aligned text."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Row:
    """One measured rate, and the ceiling it is compared with (None for context rows).

    For a figure where less is better (a latency, memory), the ceiling is a goal and
    the ratio is goal / figure, so 1 or more still means the goal is met.
    """

    label: str
    rate: float
    """Per second."""
    ceiling: float | None = None
    ceiling_label: str = ""
    unit: str = "/s"
    note: str = ""
    lower_is_better: bool = False

    @property
    def ratio(self) -> float | None:
        if self.ceiling is None or self.ceiling <= 0:
            return None
        if self.lower_is_better:
            return self.ceiling / self.rate if self.rate > 0 else None
        return self.rate / self.ceiling


@dataclass
class Table:
    """The result of one benchmark: a title, rows, and free-form notes below them."""

    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def rate_text(rate: float, unit: str = "/s") -> str:
    """`58,000/s`; one decimal below 100 so slow clients still show a difference."""
    return f"{rate:,.1f}{unit}" if rate < 100 else f"{rate:,.0f}{unit}"


def format_table(table: Table) -> str:
    cells = []
    for row in table.rows:
        ceiling = ""
        if row.ceiling is not None:
            ceiling = f"ceiling {rate_text(row.ceiling, row.unit)}"
            if row.ceiling_label:
                ceiling += f" ({row.ceiling_label})"
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
        cells.append((row.label, rate_text(row.rate, row.unit), ceiling, ratio, row.note))
    widths = [max((len(c[i]) for c in cells), default=0) for i in range(4)]
    lines = [table.title, "-" * len(table.title)]
    for label, rate, ceiling, ratio, note in cells:
        line = (
            f"  {label:<{widths[0]}}  {rate:>{widths[1]}}   "
            f"{ceiling:<{widths[2]}}   {ratio:>{widths[3]}}"
        )
        if note:
            line += f"   {note}"
        lines.append(line.rstrip())
    lines += [f"  {note}" for note in table.notes]
    return "\n".join(lines)
