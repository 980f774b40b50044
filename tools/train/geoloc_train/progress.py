"""Progress for long work, as geoloc::ProgressReporter does in C++: a self-updating line with rate
and ETA on a terminal (stderr a TTY), otherwise a plain log line at most every `interval` seconds.

  progress = Progress("epoch 3 train", total=500, unit="it")
  for ...: progress.add(1, note=f"loss {loss:.3f}")
  progress.finish()
"""

import sys
import time
from typing import Optional


def format_duration(seconds: float) -> str:
    if seconds < 0 or seconds > 1e8:
        return "?"
    s = int(seconds + 0.5)
    if s >= 3600:
        return f"{s // 3600}:{(s // 60) % 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def format_line(done: int, total: int, elapsed: float, unit: str, start: int = 0) -> str:
    """start: items already done when the clock started (a resumed epoch), left out of the rate."""
    rate = (done - start) / elapsed if elapsed > 0 else 0.0
    if total > 0:
        line = f"{done}/{total} ({100.0 * done / total:.1f}%) {rate:.1f} {unit}/s"
        if rate > 0 and done < total:
            line += " ETA " + format_duration((total - done) / rate)
    else:
        line = f"{done} {unit}, {rate:.1f} {unit}/s"
    return line + " elapsed " + format_duration(elapsed)


class Progress:
    def __init__(self, label: str, total: int, unit: str = "items", interval: float = 10.0,
                 stream=None, tty: Optional[bool] = None, done: int = 0):
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = 0.2 if self.tty else interval
        self.start = self.last = time.monotonic()
        self.done = self.start_done = done
        self.note = ""
        self.finished = False

    def add(self, n: int, note: str = "") -> None:
        self.done += n
        if note:
            self.note = note
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._report(False)

    def finish(self, note: str = "") -> None:
        if self.finished:
            return
        if note:
            self.note = note
        self.finished = True
        self._report(True)

    def _report(self, final: bool) -> None:
        line = format_line(self.done, self.total, time.monotonic() - self.start, self.unit,
                           self.start_done)
        if self.note:
            line += f", {self.note}"
        if self.tty:
            self.stream.write(f"\r\033[K{self.label}: {line}" + ("\n" if final else ""))
        else:
            self.stream.write(f"{self.label}: {line}" + (" (done)" if final else "") + "\n")
        self.stream.flush()
