"""A time limit for deriving a cell, and what the engine is working on.

The engine marks the part of the cell it is busy with (``working_on``: a
statement being read, a request being differentiated, a result being checked
or printed).  ``time_limit`` stops whatever runs past a deadline by raising
:class:`TimeLimit` there, so the magic can say which line took too long instead
of leaving the kernel busy.

In the main thread a ``SIGALRM`` interval timer interrupts pure-Python work
anywhere; elsewhere (other threads, Windows) the deadline is checked each time
the engine starts on a new part of the cell.  ``TimeLimit`` derives from
``BaseException`` so that no ``except Exception`` on the way can swallow it.
Nothing the engine caches is left half-built by it: nodes are interned only
once complete, and caches are filled after their value is computed.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import Span


@dataclass(frozen=True)
class Task:
    """What the engine is doing, and where in the cell."""

    what: str  # "differentiating ∂J/∂W", "checking ∂J/∂W numerically", …
    span: Span | None = None


class TimeLimit(BaseException):
    """The deadline of :func:`time_limit` passed while working on ``task``."""

    def __init__(self, task: Task | None = None):
        super().__init__(task.what if task else "")
        self.task = task


_local = threading.local()


def current() -> Task | None:
    """The innermost task being worked on in this thread."""
    return getattr(_local, "task", None)


@contextmanager
def working_on(what: str, span: Span | None = None):
    """Mark ``what`` (at ``span``) as the work in progress; past the deadline,
    stop before starting it."""
    task = Task(what, span)
    check(task)
    previous = current()
    _local.task = task
    try:
        yield
    except Exception as e:
        if getattr(e, "matcalc_task", None) is None:
            try:
                e.matcalc_task = current()  # where it happened, for a report of an unexpected error
            except AttributeError:  # pragma: no cover - an exception type without a __dict__
                pass
        raise
    finally:
        _local.task = previous


def now_working_on(what: str, span: Span | None = None) -> None:
    """Mark the next step of a loop as the work in progress (the enclosing
    ``working_on`` restores what was there before)."""
    task = Task(what, span)
    check(task)
    _local.task = task


def check(starting: Task | None = None) -> None:
    """Raise TimeLimit if this thread's deadline has passed: at the work in
    progress, or at the work ``starting`` if there is none."""
    deadline = getattr(_local, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise TimeLimit(current() or starting)


_armed = False  # the main thread's alarm is for a body still running


def _raise_time_limit(_signum, _frame):
    if _armed:  # not once the body has finished and is disarming
        raise TimeLimit(current())


def _can_use_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: float | None):
    """Raise TimeLimit in the body once ``seconds`` have passed (None or ≤ 0:
    no limit).  Someone else's interval timer (pytest-timeout, the user's own
    alarm) is put back afterwards with the time it had left, and keeps its
    handler: if it is due first, it fires first."""
    if not seconds or seconds <= 0:
        yield
        return
    outer = getattr(_local, "deadline", None)
    started = time.monotonic()
    _local.deadline = started + seconds if outer is None else min(outer, started + seconds)
    global _armed
    theirs = signal.getitimer(signal.ITIMER_REAL) if _can_use_alarm() else None
    alarm = theirs is not None and not (0 < theirs[0] <= seconds)
    previous, was_armed = None, _armed  # (an outer limit of ours is "theirs" here)
    if alarm:
        previous = signal.signal(signal.SIGALRM, _raise_time_limit)
        _armed = True
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if alarm:
            _armed = was_armed
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if theirs[0] > 0:
                left = max(theirs[0] - (time.monotonic() - started), 1e-6)
                signal.setitimer(signal.ITIMER_REAL, left, theirs[1])
        _local.deadline = outer


def remaining() -> float | None:
    """Seconds left before this thread's deadline (None: no deadline)."""
    deadline = getattr(_local, "deadline", None)
    return None if deadline is None else max(0.0, deadline - time.monotonic())
