"""The group committer's answer to a job: a concurrent.futures.Future without its Condition.

A settlement's answer is made once, in a committer thread, and read once, on the event
loop (api/fast_path.py's Wakeups, api/protocol.py) or by a thread that waits for it
(GroupCommitter.settle, fsi/gateway.py). concurrent.futures.Future pays for more than
that: a threading.Condition each (a Python object around an RLock), taken by every call
(`done()`, `result()`, `add_done_callback()`, `set_result()`) and notified by the answer.
A callgrind profile of the HTTP side put about 29,500 instructions a request, 15% of it,
in that machinery (bench/http_layer.py --protocol N --at-once under callgrind).

`AnswerFuture` keeps Future's interface and its attributes (so that asyncio.wrap_future,
which wants a concurrent.futures.Future, and concurrent.futures.wait and as_completed,
which read `_condition`, `_state` and `_waiters`, work on it) with a plain lock in
`_condition`, taken only to change the state or add a callback, and no Condition: a
thread that waits (`result(timeout)`, `exception(timeout)`) waits on an event of its own,
made only then. What is answered is read without the lock: `_state` becomes FINISHED
after the result is in place and never changes again.

What it keeps of Future's contract, and what it does not:
- it is running from the start: a caller that gives up cannot cancel the job (`cancel()`
  is False, as for any running Future), and its batch answers it like any other;
  `set_running_or_notify_cancel()`, an executor's call, raises RuntimeError;
- `set_result` / `set_exception` once (again: InvalidStateError, as Future);
- callbacks run in the thread that answers, in the order they were added, or at once in
  the adding thread when it is answered already; one that raises is logged (as Future
  logs it) and the others still run: a batch's answers are not lost to one of them;
- `result(timeout)` / `exception(timeout)` raise TimeoutError when it is not answered
  in time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from concurrent.futures._base import (
    FINISHED,
    LOGGER,
    RUNNING,
    _FirstCompletedWaiter,
)
from typing import TypeVar

T = TypeVar("T")


class AnswerFuture(Future[T]):
    """A Future made running, answered once (the module's docstring)."""

    def __init__(self) -> None:
        # Not Future.__init__: its Condition is what this class leaves out. A plain lock
        # serves where concurrent.futures itself takes `_condition` (wait, as_completed).
        self._condition = threading.Lock()  # type: ignore[assignment]
        self._state = RUNNING
        self._result = None
        self._exception = None
        self._waiters = []
        self._done_callbacks: list[Callable[[Future[T]], object]] = []

    # --- reading: without the lock once answered (FINISHED is final) -------------------

    def cancel(self) -> bool:
        return False  # running from the start: a job is never cancelled

    def cancelled(self) -> bool:
        return False

    def running(self) -> bool:
        return self._state == RUNNING

    def done(self) -> bool:
        return self._state == FINISHED

    def result(self, timeout: float | None = None) -> T:
        if self._state != FINISHED and not self._wait(timeout):
            raise TimeoutError
        error = self._exception
        if error is not None:
            try:
                raise error
            finally:
                del error, self  # no cycle through the traceback (as Future breaks it)
        return self._result  # type: ignore[return-value]  # FINISHED without an error: set

    def exception(self, timeout: float | None = None) -> BaseException | None:
        if self._state != FINISHED and not self._wait(timeout):
            raise TimeoutError
        return self._exception

    def _wait(self, timeout: float | None) -> bool:
        """Whether it was answered within `timeout` (None: however long it takes). The
        answer sets the waiter's event as concurrent.futures.wait's waiters are set."""
        with self._condition:
            if self._state == FINISHED:
                return True
            waiter = _FirstCompletedWaiter()
            self._waiters.append(waiter)
        try:
            waiter.event.wait(timeout)
        finally:
            with self._condition:
                self._waiters.remove(waiter)
        return self._state == FINISHED

    def add_done_callback(self, fn: Callable[[Future[T]], object]) -> None:
        if self._state != FINISHED:
            with self._condition:
                if self._state != FINISHED:
                    self._done_callbacks.append(fn)
                    return
        try:
            fn(self)
        except Exception:
            LOGGER.exception("exception calling callback for %r", self)

    # --- answering ---------------------------------------------------------------------

    def set_running_or_notify_cancel(self) -> bool:
        raise RuntimeError("an AnswerFuture is running from the start: no executor runs it")

    def set_result(self, result: T) -> None:
        with self._condition:
            if self._state == FINISHED:
                raise InvalidStateError(f"{self._state}: {self!r}")
            self._result = result
            self._state = FINISHED
            for waiter in self._waiters:
                waiter.add_result(self)
        self._invoke_callbacks()

    def set_exception(self, exception: BaseException | None) -> None:
        with self._condition:
            if self._state == FINISHED:
                raise InvalidStateError(f"{self._state}: {self!r}")
            self._exception = exception
            self._state = FINISHED
            for waiter in self._waiters:
                waiter.add_exception(self)
        self._invoke_callbacks()

    def __repr__(self) -> str:
        # Future's, without its lock: the answering methods name the future in their
        # InvalidStateError while they hold `_condition`, which is not reentrant.
        state = self._state
        if state != FINISHED:
            return f"<{type(self).__name__} at {id(self):#x} state=running>"
        outcome = self._exception if self._exception is not None else self._result
        verb = "raised" if self._exception is not None else "returned"
        return (
            f"<{type(self).__name__} at {id(self):#x} state=finished "
            f"{verb} {type(outcome).__name__}>"
        )

    def _invoke_callbacks(self) -> None:
        # No callback is added once FINISHED (add_done_callback calls it itself), so the
        # list is read without the lock; each failure is logged and the next one runs.
        for callback in self._done_callbacks:
            try:
                callback(self)
            except Exception:
                LOGGER.exception("exception calling callback for %r", self)
