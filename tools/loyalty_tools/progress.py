"""Progress for long commands, in a terminal and in a log.

In a terminal: rich bars with done/total, rate, elapsed and ETA. Not a terminal (CI, `make demo >
log`, a pipe): a plain line per task every PLAIN_EVERY seconds and one at the end, e.g.
`import: 4,000/10,000 rows (40%), 812 rows/s, ETA 7s`, since bars redrawn with carriage returns
are unreadable in a log file and rich draws nothing at all there.

Both offer the subset of rich.progress.Progress the commands use: a context manager with
add_task(description, total=, unit=), advance(task, n), update(task, description=, total=).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from rich.console import Console

PLAIN_EVERY = 5.0  # seconds between plain progress lines


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "ETA ?"
    seconds = round(seconds)
    if seconds >= 3600:
        return f"ETA {seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"ETA {seconds // 60}m{seconds % 60:02d}s"
    return f"ETA {seconds}s"


@dataclass
class _Task:
    description: str
    total: float | None
    unit: str
    done: float = 0
    started: float = field(default_factory=time.monotonic)
    finished_reported: bool = False

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        if self.total:
            left = (self.total - self.done) / rate if rate > 0 else None
            share = f" ({100 * self.done / self.total:.0f}%)"
            count = f"{self.done:,.0f}/{self.total:,.0f} {self.unit}{share}"
            tail = "done" if self.done >= self.total else eta_text(left)
        else:
            count, tail = f"{self.done:,.0f} {self.unit}", f"{elapsed:.0f}s"
        return f"{self.description}: {count}, {rate:,.1f} {self.unit}/s, {tail}"


class PlainProgress:
    """Plain lines for logs. `clock` and `emit` are injectable for tests (counted, not timed)."""

    def __init__(
        self,
        console: Console,
        every: float = PLAIN_EVERY,
        clock: Callable[[], float] = time.monotonic,
        emit: Callable[[str], None] | None = None,
    ) -> None:
        self.every = every
        self.clock = clock
        self.emit = emit or (lambda text: console.print(text, markup=False, highlight=False))
        self.tasks: list[_Task] = []
        self.last = clock()
        self.lock = threading.Lock()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._emit_all(final=True)

    def add_task(self, description: str, total: float | None = None, unit: str = "", **_: Any) -> int:
        with self.lock:
            self.tasks.append(_Task(description, total, unit, started=self.clock()))
            return len(self.tasks) - 1

    def advance(self, task: int, advance: float = 1) -> None:
        with self.lock:
            self.tasks[task].done += advance
            now = self.clock()
            if now - self.last >= self.every:
                self.last = now
                self._emit_locked(now)

    def update(self, task: int, description: str | None = None, total: float | None = None, **_: Any) -> None:
        with self.lock:
            if description is not None:
                self.tasks[task].description = description
            if total is not None:
                self.tasks[task].total = total

    def _emit_locked(self, now: float) -> None:
        for task in self.tasks:
            if task.done and not task.finished_reported:
                self.emit(task.line(now))
                task.finished_reported = bool(task.total) and task.done >= (task.total or 0)

    def _emit_all(self, final: bool) -> None:
        with self.lock:
            self._emit_locked(self.clock())


def make_console(stderr: bool = False) -> Console:
    """The commands' console. Off a terminal, lines are not wrapped at 80 columns (a log line stays
    one line); tables still fit the width."""
    console = Console(stderr=stderr)
    if not console.is_terminal:
        console.soft_wrap = True
    return console


def progress_bar(console: Console, *leading: Any) -> Any:
    """A rich Progress with done/total, rate, elapsed and ETA in a terminal, else PlainProgress.
    `leading`: extra rich columns before the bar (ignored for plain lines)."""
    if not console.is_terminal:
        return PlainProgress(console)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = leading or (TextColumn("[bold]{task.description:<28}"),)
    return Progress(
        *columns,
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
    )
