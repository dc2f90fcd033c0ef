"""Progress of a long job as plain log lines: done/total, throughput and ETA.

Jobs log to files, so a carriage-return progress bar would be one ever-growing
line; instead one line is written per interval (``AUDIOREC_PROGRESS_SECONDS``,
30 s by default) and one at the end, e.g.::

    extract musicnn shard 0: 1,200/5,000 tracks (24%), 3.1 tracks/s, ETA 20 min 26 s
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

log = logging.getLogger("audiorec.progress")


def interval() -> float:
    return float(os.environ.get("AUDIOREC_PROGRESS_SECONDS", 30))


def duration(seconds: float) -> str:
    """12 s, 3 min 05 s, 2 h 01 min."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Progress:
    """Counts units of work and logs a line at most every ``every`` seconds."""

    def __init__(
        self,
        total: int,
        what: str,
        unit: str = "items",
        every: float | None = None,
        logger: logging.Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.total, self.what, self.unit = int(total), what, unit
        self.every = interval() if every is None else every
        self.log = logger or log
        self.clock = clock
        self.done = 0
        self.started = self.last = clock()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = self.clock()
        if now - self.last >= self.every and self.done < self.total:
            self.last = now
            self.log.info("%s", self.line(now))

    def finish(self) -> None:
        """The closing line (done, overall throughput, time taken)."""
        now = self.clock()
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else float("inf")
        self.log.info(
            "%s: %s %s in %s (%s %s/s)",
            self.what,
            f"{self.done:,}",
            self.unit,
            duration(elapsed),
            _rate(rate),
            self.unit,
        )

    def line(self, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        pct = 100 * self.done / self.total if self.total else 100.0
        eta = duration((self.total - self.done) / rate) if rate > 0 else "unknown"
        return (
            f"{self.what}: {self.done:,}/{self.total:,} {self.unit} ({pct:.0f}%), "
            f"{_rate(rate)} {self.unit}/s, ETA {eta}"
        )


def _rate(rate: float) -> str:
    if rate == float("inf"):
        return "∞"
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:.2f}" if rate < 10 else f"{rate:.1f}"
