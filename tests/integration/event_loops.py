"""A coroutine run from a test whose process may already run an event loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, TypeVarTuple

import anyio

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


def run_apart(main: Callable[[*Ts], Awaitable[T]], *args: *Ts) -> T:
    """`anyio.run(main, *args)` in a thread of its own: after the browser tests,
    Playwright keeps an event loop running in the test process's main thread, and
    neither asyncio nor anyio starts another in that thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(anyio.run, main, *args).result()
