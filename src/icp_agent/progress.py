"""Progress of long steps: one callback shape for the CLI display and MCP progress notifications.

A progress callback is called as `progress(message)` (a new step) or `progress(message, done, total)`
(rows done of a step's total). `watch` feeds it from DuckDB's own progress of the running statement
(`query_progress()`, polled on a thread), so a single long SQL statement still reports rows done.
A step that counts something other than rows names it with a `Step` message ("validating the ICP" in checks);
`Parts` counts a step made of parts known in advance. `Eta` turns successive (done, total) of a step into a line
with the time left, for faces that print text.
`pulsing` repeats a step's last report while it runs without one, so a face shows a long step that counts no
rows (a phase of the analysis) with its time so far instead of going silent, and an MCP client's progress
notifications keep coming.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from typing import Protocol

import duckdb

from icp_agent import numbers


class Step(str):
    """A step's message that names what its done and total count: `Step("validating the ICP", "checks")`.

    A plain str message counts rows. A Step is a str (equal to its text), so a callback that prints, compares or
    keys on messages needs nothing new; the faces read the unit with `unit_of`."""

    unit: str

    def __new__(cls, text: str, unit: str = "rows") -> Step:
        step = super().__new__(cls, text)
        step.unit = unit
        return step


def unit_of(message: str) -> str:
    """What a step's done and total count: its Step unit, "rows" for a plain message."""
    return getattr(message, "unit", "rows")


class Progress(Protocol):
    """A progress callback: a message, and rows done of total when known."""

    def __call__(self, message: str, done: int | None = None, total: int | None = None) -> None: ...


def adapt(progress: Callable[..., None] | None) -> Progress:
    """A callback taking (message, done, total) from any callback: a one-argument one gets the message only."""
    if progress is None:
        return lambda message, done=None, total=None: None
    try:
        params = inspect.signature(progress).parameters.values()
        takes_three = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params) >= 3 or any(
            p.kind == p.VAR_POSITIONAL for p in params
        )
    except (TypeError, ValueError):
        takes_three = False
    if takes_three:
        return progress
    return lambda message, done=None, total=None: progress(message)


POLL_SECONDS = 0.5


@contextmanager
def watch(
    con: duckdb.DuckDBPyConnection, progress: Callable[..., None] | None, message: str, total: int
) -> Iterator[None]:
    """Report `message` with rows done of `total` while the statements inside run on `con`.

    Rows done are DuckDB's percentage of the running statement applied to `total` (an estimate the engine
    makes from the rows its scans have read); wrap the one statement that dominates a step, since the percentage
    restarts with each statement (rows done never go back: a later, smaller percentage is not reported). A
    `Step` message names what `total` counts. Nothing is polled when there is no callback.
    """
    report = adapt(progress)
    report(message, 0, total)
    if progress is None:
        yield
        return
    try:
        con.execute("SET enable_progress_bar = true")
        con.execute("SET enable_progress_bar_print = false")
        con.execute("SET progress_bar_time = 0")
    except duckdb.Error:  # a locked (read-only) configuration: the step is reported without rows
        yield
        return
    stop = threading.Event()

    def poll() -> None:
        last = -1
        while not stop.wait(POLL_SECONDS):
            try:
                percent = con.query_progress()
            except (duckdb.Error, RuntimeError):
                return
            if percent >= 0:
                done = min(total, int(total * percent / 100))
                if done > last:
                    try:
                        report(message, done, total)
                    except Exception:
                        return
                    last = done

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
    except BaseException:
        stop.set()
        thread.join()
        # a failed statement aborts the transaction, which then refuses even a SET: its error is the one to raise
        with suppress(duckdb.Error):
            con.execute("SET enable_progress_bar = false")
        raise
    stop.set()
    thread.join()
    con.execute("SET enable_progress_bar = false")
    report(message, total, total)


def watcher(
    con: duckdb.DuckDBPyConnection, progress: Callable[..., None] | None, message: str, rows_sql: str
) -> Callable[[], AbstractContextManager[object]]:
    """A `watch` ready to wrap the statement that dominates a step (phase code takes it as `watched`): its total is
    the count `rows_sql` gives, run only when there is a callback; with none, a context that does nothing."""
    if progress is None:
        return nullcontext
    total = int((con.execute(rows_sql).fetchone() or (0,))[0] or 0)
    return functools.partial(watch, con, progress, message, total)


class Parts:
    """A step made of parts whose number is known before it runs (validation's checks, the scorecard's fits, the
    search's rounds): `expect(total)` reports 0 of `total` `unit`, each `advance()` one part more, `reach(done)`
    a count, and `child()` a callback counting each new step of a nested run (the backtest's analysis) as a part.

    Counts never go back nor past the total (an early end, a round not needed, jumps ahead). With no callback
    every method returns at once."""

    def __init__(self, progress: Callable[..., None] | None, message: str, unit: str) -> None:
        self.report = None if progress is None else adapt(progress)
        self.message = Step(message, unit)
        self.done = 0
        self.total = 0

    def expect(self, total: int) -> None:
        """The step has `total` parts (at least those already done): reported with the parts done so far."""
        if self.report is None:
            return
        self.total = max(total, self.done, 1)
        self.report(self.message, self.done, self.total)

    def reach(self, done: int) -> None:
        """`done` parts are finished (a smaller count than already reported changes nothing)."""
        if self.report is None or not self.total or min(done, self.total) <= self.done:
            return
        self.done = min(done, self.total)
        self.report(self.message, self.done, self.total)

    def advance(self, parts: int = 1) -> None:
        """`parts` more parts are finished."""
        self.reach(self.done + parts)

    def child(self) -> Progress | None:
        """A progress callback for a nested run whose steps are parts of this one: each new message after its
        first means the step before it finished (the caller advances for the last). None with no callback."""
        if self.report is None:
            return None
        seen: list[str] = []

        def counted(message: str, done: int | None = None, total: int | None = None) -> None:
            if seen and message != seen[-1]:
                self.advance()
            if not seen or message != seen[-1]:
                seen.append(message)

        return counted


class Eta:
    """Text for a step's progress: "normalising 1,000,000 rows: 420,000 of 1,000,000 rows, about 3 s left", or in
    the step's own unit ("validating the ICP: 3 of 7 checks, about 6 s left", a `Step` message).

    The time left is the step's own rate so far (rows per second since its first report) applied to
    the rows still to do; it is shown once a step has run a second. A step that counts no rows shows its time
    so far instead ("validating the ICP (12 s so far)"), once it has run a second (its reports repeated by
    `pulsing`), and so does a count within a second of its end ("999,998 of 1,000,000 rows (3 s so far)": DuckDB's
    progress of a statement that has read every row and still writes its result).
    """

    def __init__(self) -> None:
        self.step: str | None = None
        self.started = time.monotonic()

    def line(self, message: str, done: int | None = None, total: int | None = None) -> str:
        """The progress line for a message: "message: done of total <unit>" with the time left once a step has run a
        second."""
        now = time.monotonic()
        if message != self.step:
            self.step, self.started = message, now
        elapsed = now - self.started
        if done is None or not total:  # a step that counts no rows: its time so far, once it has run a second
            return f"{message} ({numbers.count(round(elapsed))} s so far)" if elapsed >= 1 else message
        text = f"{message}: {done:,} of {total:,} {unit_of(message)}"
        if done and done < total and elapsed >= 1:
            left = round(elapsed * (total - done) / done)
            # a count stalled just short of its total (the engine has read every row and still writes the result)
            # shows its time so far, not "about 0 s left" for seconds
            text += f", about {numbers.count(left)} s left" if left else f" ({numbers.count(round(elapsed))} s so far)"
        return text


PULSE_SECONDS = 1.0


@contextmanager
def pulsing(progress: Callable[..., None] | None, every: float = PULSE_SECONDS) -> Iterator[Progress]:
    """A callback forwarding to `progress` (calls serialised by a lock), plus a thread that repeats the last
    report (message, done, total) whenever `every` seconds pass without one, until the block ends.

    The faces turn the repeat into the step's time so far (Eta.line) or, for a step counting rows, a fresh time
    left; an MCP client gets a notification at least every `every` seconds of a long call. A failing callback
    (a client gone) stops the repeats, never the work. Nothing runs when `progress` is None."""
    report = adapt(progress)
    if progress is None:
        yield report
        return
    lock = threading.Lock()
    state: dict = {"last": None, "at": time.monotonic()}
    stop = threading.Event()

    def forward(message: str, done: int | None = None, total: int | None = None) -> None:
        with lock:
            state["last"], state["at"] = (message, done, total), time.monotonic()
            report(message, done, total)

    def beat() -> None:
        while not stop.wait(every / 4):
            with lock:
                if state["last"] is None or time.monotonic() - state["at"] < every:
                    continue
                state["at"] = time.monotonic()
                try:
                    report(*state["last"])
                except Exception:
                    return

    thread = threading.Thread(target=beat, daemon=True, name="icp-agent progress pulse")
    thread.start()
    try:
        yield forward
    finally:
        stop.set()
        thread.join()
