"""The table `make bench` prints: each load's figures for ours beside the naive baseline, with the issue's targets."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table

from bench.baseline import MINIMAL, NAIVE, OURS
from bench.figures import LoadFigures, load_figures, targets
from bench.function_costs import FunctionCosts
from bench.scenarios import QUOTA_BOUND, Scenario, SideRun

NOT_RUN = "[dim]-[/]"


def _drain(figures: LoadFigures) -> str:
    if figures.drain_seconds is None:
        return f"[red]not drained[/] ({figures.ideal_seconds:.1f} s)"
    return f"{figures.drain_seconds:.1f} s ({figures.ideal_seconds:.1f} s)"


def _dead_lettered(figures: LoadFigures) -> str:
    if not figures.dead_lettered:
        return "0"
    reasons = ", ".join(f"{code} {count}" for code, count in figures.dead_lettered.items())
    return f"{figures.dead_lettered_total} ({reasons})"


# (figure, label, how it is shown) for each row of a load; the figure names a target's.
ROWS: tuple[tuple[str, str, Callable[[LoadFigures], str]], ...] = (
    ("drain_seconds", "drain time (ideal)", _drain),
    (
        "ideal_over_actual",
        "ideal/actual",
        lambda f: "-" if f.ideal_over_actual is None else f"{f.ideal_over_actual:.2f}",
    ),
    ("throttled_share", "throttled answers", lambda f: f"{f.throttled_share:.1%}"),
    ("limit_exceeded_share", "LimitExceeded answers", lambda f: f"{f.limit_exceeded_share:.1%}"),
    (
        "requests_per_placed_call",
        "Connect requests per placed call",
        lambda f: "-" if f.requests_per_placed_call is None else f"{f.requests_per_placed_call:.2f}",
    ),
    ("requests_placed", "requests placed", lambda f: f"{f.requests_placed} of {f.requests}"),
    ("dead_lettered_total", "dead-lettered", _dead_lettered),
    ("left_on_queue", "left on the queue at the end", lambda f: str(f.left_on_queue)),
    ("requests_rung_twice", "requests rung twice", lambda f: str(f.requests_rung_twice)),
    ("cold_starts", "cold starts / invocations", lambda f: f"{f.cold_starts} / {f.invocations}"),
    ("hops_per_request", "deferral hops per request", lambda f: f"{f.hops_per_request:.2f}"),
    (
        "longest_wait_seconds",
        "longest wait, arrival to call",
        lambda f: "not all placed" if f.longest_wait_seconds is None else f"{f.longest_wait_seconds:.1f} s",
    ),
)
# Rows of the agents load only.
AGENT_ROWS: tuple[tuple[str, str, Callable[[LoadFigures], str]], ...] = (
    (
        "abandoned_share",
        "abandoned (answered, no agent)",
        lambda f: "-" if f.agents is None else f"{f.agents.abandoned_share:.1%} ({f.agents.abandoned})",
    ),
    ("occupancy", "agent occupancy", lambda f: "-" if f.occupancy is None else f"{f.occupancy:.1%}"),
)


def _per_call(figures: LoadFigures) -> str:
    """The cost line: billed requests per placed call."""
    costs = figures.costs
    if costs is None or not costs.calls_placed:
        return "-"
    per_call = costs.per_call
    return (
        f"SQS {per_call(costs.sqs_requests):.1f}, Lambda {per_call(costs.lambda_invocations):.2f}, "
        f"DynamoDB {per_call(costs.dynamodb_reads):.1f} R / {per_call(costs.dynamodb_writes):.1f} W"
    )


def summary_table(loads: dict[Scenario, dict[str, SideRun]], costs: FunctionCosts | None, heading: str) -> Table:
    """One section per load, then the function's own costs."""
    table = Table(title=heading, header_style="bold", title_justify="left")
    table.add_column("")
    table.add_column(f"ours ({OURS.title})", justify="right")
    table.add_column(NAIVE.title, justify="right")
    table.add_column("target (ours)")
    for scenario, runs in loads.items():
        figures = {name: load_figures(run) for name, run in runs.items()}
        verdicts = {
            target.figure: f"{'[green]met[/]' if target.met else '[red]missed[/]'} ({target.wanted})"
            for target in (targets(scenario, figures[OURS.name]) if OURS.name in figures else [])
        }
        drain_end = "last call placed" if scenario.bound == QUOTA_BOUND else "last call ended"
        table.add_section()
        table.add_row(f"[bold]{scenario.title}[/] (drained at the {drain_end})", "", "", "")
        rows = ROWS + (AGENT_ROWS if scenario.staffing is not None else ())
        for figure, label, show in (*rows, ("costs", "per placed call", _per_call)):
            cells = [show(figures[side.name]) if side.name in figures else NOT_RUN for side in (OURS, NAIVE)]
            table.add_row(f"  {label}", *cells, verdicts.get(figure, ""))
    if costs is not None:
        table.add_section()
        table.add_row(f"[bold]The function, against a {MINIMAL.title}[/]", "", "", "")
        table.add_row(
            "  cold init (import of the handler)",
            f"{costs.cold_init_seconds(OURS):.2f} s",
            f"minimal: {costs.cold_init_seconds(MINIMAL):.2f} s",
            f"ours / minimal: {costs.cold_init_ratio:.1f}x",
        )
        table.add_row(
            f"  time per record (batch of {costs.batch_size})",
            f"{costs.per_record_seconds(OURS) * 1000:.1f} ms",
            f"minimal: {costs.per_record_seconds(MINIMAL) * 1000:.1f} ms",
            f"ours / minimal: {costs.per_record_ratio:.1f}x",
        )
    return table
