"""What a person sees while a run's requests settle: a rich progress bar of the requests settled out of all, with the
time elapsed and the run's live counts beside it; for a long run, an estimate of the time left too.

One implementation for every run that takes a while: the demo, `make reliability` and `make bench`.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column

from local.run_progress import Progress as PipelineProgress

# How often a long run's progress bar is redrawn (its figures change once per look at the queues, every second).
REFRESHES_PER_SECOND = 2
# The bars' width, and the width of everything on a long run's line but the queue's figures: the spinner, "settled",
# the bar, "10000/10000", two times of 7 characters, "left", and the spaces between the eight columns.
BAR_WIDTH = 20
SETTLING_COLUMNS_WIDTH = 1 + 7 + BAR_WIDTH + 11 + 7 + 4 + 7 + 7


class ProgressDisplay:
    """A rich progress bar of settled requests with the live counts beside it."""

    def __init__(self, console: Console, total: int) -> None:
        self._total = total
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]settled"),
            BarColumn(bar_width=BAR_WIDTH),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("starting", total=total)

    def __enter__(self) -> ProgressDisplay:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def update(self, progress: PipelineProgress) -> None:
        """Show one snapshot."""
        queued = sum(progress.queue.values()) - progress.waiting
        description = (
            f"[green]placed {progress.placed}[/] [yellow]DLQ {progress.dead_lettered}[/] "
            f"[cyan]waiting {progress.waiting}[/] queued {queued} "
            f"running {progress.event_source.in_flight} calls {progress.active_calls} "
            f"[red]429s {progress.connect.throttled}[/]"
        )
        settled = min(self._total, progress.placed + progress.dead_lettered + progress.waiting)
        self._progress.update(self._task, completed=settled, description=description)


class SettlingDisplay:
    """A rich progress bar of the requests settled out of all those a long run sends, elapsed time, an estimate of
    the time left, and the source queue beside it (`make reliability`).

    Settled is counted from the source queue, not from calls and dead-letters: a request may be both placed and
    dead-lettered (OutcomeUnknown), or dead-lettered twice, but it has a message on the queue until it settles.
    """

    def __init__(self, console: Console, total: int) -> None:
        description_width = max(0, console.width - SETTLING_COLUMNS_WIDTH)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]settled"),
            BarColumn(bar_width=BAR_WIDTH),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            # On a narrow terminal only the queue's figures are cut short, never the counts or the times.
            TextColumn("{task.description}", table_column=Column(no_wrap=True, max_width=description_width)),
            console=console,
            transient=False,
            # A look at the queues costs moto a scan of each: the bar is redrawn from the last one in between.
            refresh_per_second=REFRESHES_PER_SECOND,
        )
        self._task = self._progress.add_task("starting", total=total)

    def __enter__(self) -> SettlingDisplay:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def update(self, progress: PipelineProgress) -> None:
        """Show one snapshot."""
        queue = progress.queue
        description = (
            f"[green]placed {progress.placed}[/] [yellow]DLQ {progress.dead_lettered}[/]; queue: waiting "
            f"{queue.get('visible', 0)} in flight {queue.get('in_flight', 0)} delayed {queue.get('delayed', 0)}; "
            f"running {progress.event_source.in_flight}"
        )
        self._progress.update(self._task, completed=progress.settled_requests, description=description)
