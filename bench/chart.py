"""bench/results.png: each load over time, ours beside the naive baseline, against the instance's limits.

One row per load, one column per function, the same scales along a row. In each panel: calls placed per second
(bars) against the quota's rate, calls in progress at the local Connect (line) against the concurrent-call limit
(and the queue's agents on the agents load),
and on the right-hand axis the throttled and LimitExceeded answers per second; dashed and solid verticals mark the
ideal drain and the real one.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from bench.baseline import SIDES
from bench.figures import LoadFigures, load_figures
from bench.scenarios import QUOTA_CALLS_PER_SECOND, Scenario, SideRun
from bench.series import PerSecond, calls, calls_in_progress, per_second

# How finely calls in progress are sampled, in seconds.
SAMPLE_SECONDS = 0.1
# A concurrent-call limit above this many times the busiest moment is left out (the load's title names it).
LIMIT_DRAWN_UP_TO = 3.0
PLACED_COLOUR, IN_PROGRESS_COLOUR, THROTTLED_COLOUR, LIMIT_EXCEEDED_COLOUR = "#4c9a2a", "#1f5fa8", "#d62728", "#ff7f0e"
AGENTS_COLOUR = "#7b3fa0"
PANEL_HEIGHT_INCHES = 5.0
DPI = 110


def draw_chart(loads: dict[Scenario, dict[str, SideRun]], path: Path, heading: str) -> None:
    """Draw every load's panels, one row each, and write the PNG."""
    # The Agg canvas straight away, without pyplot: no display, no GUI toolkit, no global state.
    figure = Figure(figsize=(15, PANEL_HEIGHT_INCHES * len(loads) + 1.2))
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(loads), len(SIDES), squeeze=False)
    for row, runs in enumerate(loads.values()):
        seconds = max(run.observed_seconds for run in runs.values())
        series = {name: per_second(run.timeline, run.started_at, seconds) for name, run in runs.items()}
        busiest = max(max(s.placed + s.calls_in_progress, default=0) for s in series.values())
        rejected = max(max(s.throttled + s.limit_exceeded, default=0) for s in series.values())
        scale = (seconds, max(busiest, QUOTA_CALLS_PER_SECOND), max(1, rejected))
        for column, side in enumerate(SIDES):
            axis = axes[row][column]
            if side.name in runs:
                _panel(axis, runs[side.name], series[side.name], scale)
            else:
                axis.axis("off")
    figure.suptitle(heading, fontsize=10)
    figure.legend(handles=_legend(), loc="lower center", ncol=4, fontsize=8.5, frameon=False)
    figure.tight_layout(rect=(0, 0.06, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI)


def _panel(axis: Axes, run: SideRun, series: PerSecond, scale: tuple[float, float, int]) -> None:
    """One function on one load; `scale` is the row's (seconds, calls, rejected answers per second)."""
    seconds, busiest, rejected = scale
    scenario, figures = run.scenario, load_figures(run)
    moments = [index * SAMPLE_SECONDS for index in range(int(seconds / SAMPLE_SECONDS) + 1)]
    axis.bar(series.seconds, series.placed, width=1.0, align="edge", color=PLACED_COLOUR, alpha=0.45)
    in_progress = calls_in_progress(calls(run.timeline, run.started_at), moments)
    axis.step(moments, in_progress, where="post", color=IN_PROGRESS_COLOUR, linewidth=1.1)
    axis.axhline(QUOTA_CALLS_PER_SECOND, color=PLACED_COLOUR, linestyle=":", linewidth=1.6)
    if scenario.max_concurrent_calls <= LIMIT_DRAWN_UP_TO * busiest:
        axis.axhline(scenario.max_concurrent_calls, color=IN_PROGRESS_COLOUR, linestyle="--", linewidth=1.2)
        busiest = max(busiest, scenario.max_concurrent_calls)
    if scenario.staffing is not None:
        axis.axhline(scenario.staffing.agents, color=AGENTS_COLOUR, linestyle="-.", linewidth=1.2)
    axis.axvline(figures.ideal_seconds, color="grey", linestyle="--", linewidth=1)
    if figures.drain_seconds is not None:
        axis.axvline(figures.drain_seconds, color="black", linewidth=1)
    axis.set_xlim(0, seconds)
    axis.set_ylim(0, busiest * 1.15)
    axis.set_xlabel("seconds since the event source started, the whole load queued")
    axis.set_ylabel("calls placed per second, calls in progress")
    rejections = axis.twinx()
    rejections.step(series.seconds, series.throttled, where="post", color=THROTTLED_COLOUR, linewidth=1)
    rejections.step(series.seconds, series.limit_exceeded, where="post", color=LIMIT_EXCEEDED_COLOUR, linewidth=1)
    rejections.set_ylim(0, rejected * 1.15)
    rejections.set_ylabel("rejected answers per second", color=THROTTLED_COLOUR)
    axis.set_title(f"{scenario.title}\n{run.side.title}\n{_outcome(figures, scenario)}", fontsize=9)


def _legend() -> list[Artist]:
    return [
        Patch(color=PLACED_COLOUR, alpha=0.45, label="calls placed per second"),
        Line2D([], [], color=PLACED_COLOUR, linestyle=":", linewidth=1.6, label="quota (calls per second)"),
        Line2D([], [], color=IN_PROGRESS_COLOUR, linewidth=1.1, label="calls in progress"),
        Line2D([], [], color=IN_PROGRESS_COLOUR, linestyle="--", label="concurrent-call limit"),
        Line2D([], [], color=AGENTS_COLOUR, linestyle="-.", label="the queue's agents (agents load)"),
        Line2D([], [], color=THROTTLED_COLOUR, label="ThrottlingException + TooManyRequests per second (right)"),
        Line2D([], [], color=LIMIT_EXCEEDED_COLOUR, label="LimitExceededException per second (right)"),
        Line2D([], [], color="grey", linestyle="--", label="ideal drain"),
        Line2D([], [], color="black", label="drained"),
    ]


def _outcome(figures: LoadFigures, scenario: Scenario) -> str:
    """The panel's figures in two lines: how far it got and how, and what Connect answered."""
    placed = f"{figures.requests_placed} of {figures.requests} placed"
    if figures.drain_seconds is None:
        progress = (
            f"not drained by the {scenario.max_duration_seconds:.0f} s cap: {placed}, "
            f"{figures.left_on_queue} still queued"
        )
    else:
        ratio = figures.ideal_over_actual or 0.0
        progress = f"{placed} in {figures.drain_seconds:.1f} s (ideal {figures.ideal_seconds:.1f} s: {ratio:.2f})"
    per_call = figures.requests_per_placed_call or 0.0
    answers = (
        f"{figures.throttled_share:.1%} throttled, {figures.limit_exceeded_share:.1%} LimitExceeded, "
        f"{per_call:.2f} Connect requests per placed call"
    )
    if figures.agents is not None:
        busy = figures.agents.occupancy or 0.0
        answers = (
            f"{figures.agents.abandoned_share:.1%} abandoned, agents {busy:.0%} busy, "
            f"{figures.hops_per_request:.1f} hops per request"
        )
    return (
        f"{progress}; {figures.dead_lettered_total} dead-lettered, {figures.requests_rung_twice} rung twice\n{answers}"
    )
