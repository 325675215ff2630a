"""What the benchmarks share: a process's peak memory, and a benchmark's own script run as
a child process (each measured setup in a process of its own, so that its peak memory is
its own), whose last line of output is its result as JSON."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def peak_mib() -> float:
    """This process's peak resident memory. VmHWM, not getrusage's ru_maxrss: a child
    started by fork and exec keeps its parent's ru_maxrss, but gets a new VmHWM."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def run_child(script: str, *args: str) -> dict[str, Any]:
    """Run `script` (a benchmark's __file__) with `args` in a new Python process; its
    result, the JSON on the last line it printed."""
    done = subprocess.run(
        [sys.executable, script, *args], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def cpu_timed(spent: dict[str, float], part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """fn, adding the process CPU seconds each call takes to spent[part]."""
    tick = time.process_time

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = tick()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[part] += tick() - started

    return timed
