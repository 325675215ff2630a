"""Where a settlement's server CPU goes: py-spy samples the server and its workers while a
benchmark fires, and the samples are turned into milliseconds of each settlement.

    with Profiler(server_pid, seconds, ROOT / "bench") as profiler:
        ...fire...
    profiler.print_breakdown(server_cpu_ms_each)

py-spy (`pip install py-spy`; not a project dependency) records twice at once: a flame
graph (bench/flame-settle.svg, open it in a browser) and the raw stacks, which are summed
here by the package of the innermost Python frame (self time) and by the yibao function
the time was spent under (inclusive time). Idle samples are left out by py-spy, so each
share is a share of CPU.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.table import Table

# The package of a frame's file, most specific first: "where the time goes" in words.
GROUPS = [
    ("yibao/domain/", "yibao domain (the engine)"),
    ("yibao/service/", "yibao service layer"),
    ("yibao/adapters/", "yibao adapters (database, files)"),
    ("yibao/entrypoints/", "yibao API (routes, models)"),
    ("yibao/", "yibao, other"),
    ("sqlalchemy/", "SQLAlchemy"),
    ("psycopg", "psycopg (PostgreSQL driver)"),
    ("pydantic", "pydantic"),
    ("starlette/", "Starlette"),
    ("fastapi/", "FastAPI"),
    ("uvicorn/", "uvicorn"),
    ("asyncio/", "asyncio"),
    ("anyio/", "anyio (thread pool)"),
    ("orjson", "orjson"),
    ("json/", "json"),
    ("decimal", "decimal"),
    ("threading.py", "threads"),
]
# Innermost frames that wait (for PostgreSQL's answer, for a lock or a condition, for the
# network) with the GIL released: py-spy takes some of them for busy, and they were
# counted as CPU (psycopg's Connection.wait was "half the server's CPU"). Left out.
WAITS = {
    ("Connection.wait", "psycopg/"),
    ("Condition.wait", "threading.py"),
    ("Event.wait", "threading.py"),
    ("Thread.join", "threading.py"),
    ("EpollSelector.select", "selectors.py"),
    ("select", "selectors.py"),
    ("Connection._recv", "multiprocessing/"),  # uvicorn's worker waiting for its supervisor
}
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def py_spy() -> str | None:
    """py-spy beside this interpreter (`.venv/bin/pip install py-spy`: the venv's bin is
    not on PATH when the bench runs as .venv/bin/python), else on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def group_of(file: str) -> str:
    for marker, name in GROUPS:
        if marker in file:
            return name
    return "Python standard library and other"


class Profiler:
    def __init__(self, pid: int, seconds: float, folder: Path) -> None:
        self.pid, self.seconds = pid, seconds
        self.svg = folder / "flame-settle.svg"
        self.raw = folder / "flame-settle.txt"
        self.recorders: list[subprocess.Popen[bytes]] = []

    @staticmethod
    def available() -> bool:
        return py_spy() is not None

    def _record(self, fmt: str, output: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                py_spy() or "py-spy",
                "record",
                "--pid",
                str(self.pid),
                "--subprocesses",
                "--rate",
                "99",
                "--duration",
                str(max(1, int(self.seconds))),
                "--format",
                fmt,
                "--output",
                str(output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def __enter__(self) -> Profiler:
        self.recorders = [self._record("flamegraph", self.svg), self._record("raw", self.raw)]
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for recorder in self.recorders:
            recorder.wait(timeout=self.seconds + 60)

    def stacks(self) -> Counter[tuple[tuple[str, str], ...]]:
        """Each sampled stack as (function, file) frames, outermost first, with its count."""
        stacks: Counter[tuple[tuple[str, str], ...]] = Counter()
        for line in self.raw.read_text().splitlines():
            path, _, count = line.rpartition(" ")
            frames = []
            for part in path.split(";"):
                if (m := FRAME.match(part)) is not None:
                    frames.append((m["function"], m["file"]))
            if frames and count.isdigit():
                stacks[tuple(frames)] += int(count)
        return stacks

    def print_breakdown(self, server_cpu_ms: float, top: int = 12) -> None:
        stacks = self.stacks()
        waiting = sum(count for frames, count in stacks.items() if _waits(frames[-1]))
        stacks = Counter({frames: n for frames, n in stacks.items() if not _waits(frames[-1])})
        total = sum(stacks.values()) or 1
        Console(width=160).print(
            f"left out: {waiting:,} samples waiting (for PostgreSQL, a lock, the network)"
        )
        by_group: Counter[str] = Counter()
        by_function: Counter[str] = Counter()
        for frames, count in stacks.items():
            by_group[group_of(frames[-1][1])] += count
            # Inclusive: every yibao function on the stack, counted once per sample.
            seen = {f"{fn} ({file})" for fn, file in frames if "yibao/" in file}
            for name in seen:
                by_function[name] += count
        console = Console(width=160)
        for title, counter in (
            ("Server CPU of a settlement by package (self time)", by_group),
            ("Server CPU of a settlement under each yibao function (inclusive)", by_function),
        ):
            table = Table(title=f"{title}: {total:,} samples, flame graph {self.svg.name}")
            for col in ("where", "share", "ms each"):
                table.add_column(col, justify="right" if col != "where" else "left")
            for name, count in counter.most_common(top):
                share = count / total
                table.add_row(name, f"{share:.0%}", f"{share * server_cpu_ms:.2f}")
            console.print(table)


def _waits(frame: tuple[str, str]) -> bool:
    function, file = frame
    return any(function == name and marker in file for name, marker in WAITS)
