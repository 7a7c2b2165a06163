"""The /progress chart, drawn in a worker process (bot.workers) so that it never holds up
anyone's answers. It imports matplotlib and nothing of the bot: a worker starts quickly, and
what it draws comes in plain values (names and titles already made drawable, bot.features.
progress). No pyplot and no shared state: each chart is a Figure of its own.
"""

from __future__ import annotations

import io
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

CHART_SIZE = (8.0, 9.0)  # inches at CHART_DPI: 800 × 900 pixels
CHART_DPI = 100


def ready() -> bool:
    """Nothing to draw: a worker that runs it has matplotlib loaded (bot.workers.warm_up)."""
    return True


def render_chart(series: dict[str, Any], names: dict[int, str], titles: dict[str, str]) -> bytes:
    """Three small charts in one PNG: `series` as /progress gathers it, `names` by user id and
    `titles` by part ("scores", "checklist", "pauses", "week", "month"), both ready to draw."""
    figure = chart(series, names, titles)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=CHART_DPI)
    return out.getvalue()


def chart(series: dict[str, Any], names: dict[int, str], titles: dict[str, str]) -> Figure:
    """The chart: weekly scores, checklist ticks per month, pauses per week. Every axis counts
    in whole numbers (weeks, months, scores, ticks, pauses), from the first week on."""
    figure = Figure(figsize=CHART_SIZE, dpi=CHART_DPI)
    FigureCanvasAgg(figure)
    top, middle, bottom = figure.subplots(3, 1)
    weeks = series["weeks"]
    for user_id, by_week in series["scores"].items():
        points = [(w, by_week[w]) for w in weeks if w in by_week]
        if points:
            top.plot(
                [w for w, _ in points],
                [s for _, s in points],
                marker="o",
                label=names[user_id],
            )
    top.set_ylim(0.5, 5.5)
    top.set_yticks(range(1, 6))
    top.set_xlim(weeks[0] - 0.5, weeks[-1] + 0.5)
    top.set_xticks(weeks)
    top.set_title(titles["scores"])
    top.set_xlabel(titles["week"])
    if top.get_legend_handles_labels()[0]:
        top.legend(loc="lower left", fontsize="small")
    months = series["months"]
    width = 0.8 / max(1, len(series["ticks"]))
    for index, (user_id, counts) in enumerate(series["ticks"].items()):
        xs = [m - 0.4 + width * (index + 0.5) for m in months]
        middle.bar(xs, [c or 0 for c in counts], width=width, label=names[user_id])
    middle.set_ylim(0, series["most"] + 2.5)
    middle.axhline(series["most"] - 0.5, color="grey", linestyle=":", linewidth=1)
    middle.set_title(titles["checklist"])
    middle.set_xlabel(titles["month"])
    middle.set_xticks(months)  # none yet: no ticks, rather than fractions of a month
    if months:
        middle.legend(loc="upper left", fontsize="small")
    bottom.bar(weeks, series["pauses"], color="#8a9bb0")
    bottom.set_title(titles["pauses"])
    bottom.set_xlabel(titles["week"])
    bottom.set_xlim(weeks[0] - 0.5, weeks[-1] + 0.5)
    bottom.set_xticks(weeks)
    bottom.set_ylim(0, max([*series["pauses"], 1]) + 0.5)
    for axis in (middle.yaxis, bottom.yaxis):
        axis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    figure.tight_layout()
    return figure
