"""The group committer's AnswerFuture (service/answer_future.py): Future's interface and
contract where the committer's callers use it, without its Condition."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, InvalidStateError, as_completed, wait

import pytest

from yibao.service.answer_future import AnswerFuture


def test_running_from_the_start_and_never_cancelled() -> None:
    future: AnswerFuture[int] = AnswerFuture()
    assert isinstance(future, Future)
    assert future.running()
    assert not future.done()
    assert not future.cancelled()
    assert future.cancel() is False  # a caller that gives up cannot cancel the job
    assert future.running()
    with pytest.raises(RuntimeError):
        future.set_running_or_notify_cancel()  # no executor runs it
    future.set_result(1)
    assert future.done()
    assert not future.running()
    assert not future.cancelled()
    assert future.cancel() is False


def test_result_and_exception() -> None:
    answered: AnswerFuture[int] = AnswerFuture()
    answered.set_result(7)
    assert answered.result() == 7
    assert answered.result(0) == 7
    assert answered.exception() is None
    assert "returned int" in repr(answered)

    failed: AnswerFuture[int] = AnswerFuture()
    error = ValueError("refused")
    failed.set_exception(error)
    assert failed.exception() is error
    with pytest.raises(ValueError, match="refused"):
        failed.result()
    with pytest.raises(ValueError, match="refused"):
        failed.result(timeout=1)  # as often as asked
    assert "raised ValueError" in repr(failed)


def test_answered_once() -> None:
    future: AnswerFuture[int] = AnswerFuture()
    future.set_result(1)
    with pytest.raises(InvalidStateError):
        future.set_result(2)
    with pytest.raises(InvalidStateError):
        future.set_exception(ValueError())
    assert future.result() == 1


def test_timeout() -> None:
    future: AnswerFuture[int] = AnswerFuture()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        future.result(timeout=0.05)
    assert time.monotonic() - started >= 0.04
    with pytest.raises(TimeoutError):
        future.exception(timeout=0)
    with pytest.raises(TimeoutError):
        future.result(timeout=-1)  # as Future: no wait at all
    assert future._waiters == []  # a waiter that gave up is gone
    future.set_result(3)  # still answerable
    assert future.result(timeout=0) == 3


def test_threads_waiting_while_another_answers() -> None:
    future: AnswerFuture[str] = AnswerFuture()
    got: list[object] = []
    lock = threading.Lock()

    def wait_result() -> None:
        answer = future.result(timeout=10)
        with lock:
            got.append(answer)

    def wait_exception() -> None:
        error = future.exception()
        with lock:
            got.append(error)

    threads = [threading.Thread(target=wait_result) for _ in range(4)]
    threads += [threading.Thread(target=wait_exception) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)  # most of them waiting
    threading.Thread(target=future.set_result, args=("answer",)).start()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert sorted(map(str, got)) == ["None", "None"] + ["answer"] * 4
    assert future._waiters == []


def test_many_futures_answered_across_threads() -> None:
    """The race of an answer with a callback being added: each callback runs once."""
    futures: list[AnswerFuture[int]] = [AnswerFuture() for _ in range(2000)]
    calls = [0] * len(futures)

    def answer() -> None:
        for n, future in enumerate(futures):
            future.set_result(n)

    def count(done: Future[int]) -> None:
        calls[done.result()] += 1

    answering = threading.Thread(target=answer)
    answering.start()
    for future in futures:
        future.add_done_callback(count)
    answering.join()
    assert calls == [1] * len(futures)


def test_callbacks_before_and_after_the_answer() -> None:
    future: AnswerFuture[int] = AnswerFuture()
    seen: list[tuple[str, int, str]] = []

    def callback(name: str) -> object:
        return lambda done: seen.append((name, done.result(), threading.current_thread().name))

    future.add_done_callback(callback("first"))
    future.add_done_callback(callback("second"))
    assert seen == []
    answering = threading.Thread(target=future.set_result, args=(5,), name="committer")
    answering.start()
    answering.join()
    # In the answering thread, in the order added.
    assert seen == [("first", 5, "committer"), ("second", 5, "committer")]
    future.add_done_callback(callback("late"))  # answered already: at once, here
    assert seen[-1] == ("late", 5, threading.current_thread().name)


def test_a_failing_callback_loses_no_other(caplog: pytest.LogCaptureFixture) -> None:
    """One answer's callback raising: logged, the rest still run, the setter goes on
    (so that the committer answers the rest of its batch)."""
    future: AnswerFuture[int] = AnswerFuture()
    seen: list[int] = []

    def fails(_done: Future[int]) -> None:
        raise RuntimeError("a broken callback")

    future.add_done_callback(fails)
    future.add_done_callback(lambda done: seen.append(done.result()))
    with caplog.at_level(logging.ERROR, logger="concurrent.futures"):
        future.set_result(9)  # does not raise
        future.add_done_callback(fails)  # added late: logged too, not raised
    assert seen == [9]
    assert sum("exception calling callback" in r.message for r in caplog.records) == 2


def test_concurrent_futures_wait_and_as_completed() -> None:
    first: AnswerFuture[int] = AnswerFuture()
    second: AnswerFuture[int] = AnswerFuture()
    threading.Timer(0.02, first.set_result, args=(1,)).start()
    done, pending = wait([first, second], timeout=10, return_when=FIRST_COMPLETED)
    assert done == {first}
    assert pending == {second}
    threading.Timer(0.02, second.set_exception, args=(ValueError("late"),)).start()
    assert list(as_completed([second], timeout=10)) == [second]
    assert isinstance(second.exception(), ValueError)
    assert second._waiters == []  # wait's and as_completed's waiters removed


def test_asyncio_wrap_future() -> None:
    """How the card route (routers/settlements.py) and the FSI route await it."""

    async def run() -> None:
        answered: AnswerFuture[int] = AnswerFuture()
        threading.Timer(0.02, answered.set_result, args=(4,)).start()
        assert await asyncio.wrap_future(answered) == 4

        failed: AnswerFuture[int] = AnswerFuture()
        threading.Timer(0.02, failed.set_exception, args=(KeyError("x"),)).start()
        with pytest.raises(KeyError):
            await asyncio.wrap_future(failed)

        # A caller that gives up: its awaiting is cancelled, the job is not.
        abandoned: AnswerFuture[int] = AnswerFuture()
        waiter = asyncio.wrap_future(abandoned)
        waiter.cancel()
        await asyncio.sleep(0)
        assert waiter.cancelled()
        assert abandoned.running()
        abandoned.set_result(1)  # answered all the same, nothing raised
        await asyncio.sleep(0.01)
        assert abandoned.result() == 1

    asyncio.run(run())
