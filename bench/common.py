"""What the benchmarks share: a process's peak memory, and a benchmark's own script run as
a child process (each measured setup in a process of its own, so that its peak memory is
its own), whose last line of output is its result as JSON; the CPU of finished child
processes and of the whole machine."""

from __future__ import annotations

import json
import os
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


def children_cpu_seconds() -> float:
    """CPU seconds of this process's children that have ended and been waited for (a
    load client run by subprocess.run: wrk, pgbench), user and system."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy so far, the kernel's work for
    the network included (/proc/stat: all but idle and iowait). On an idle machine, its
    change over a run divided by the run's transactions is what a transaction costs the
    machine as a whole: server, database, client and kernel."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


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
