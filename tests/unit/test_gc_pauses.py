"""The collector's pauses as a server process records them (entrypoints/api/latency.py's
GcPauses, YIBAO_GC_LOG and inside YIBAO_LATENCY_LOG's record): each one's generation,
wall and CPU time, what it collected; and the settlements' traces: both kept as numbers
in arrays, nothing an entry for the collector to walk."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import orjson
import pytest

from yibao.entrypoints.api.latency import GcPauses, Recorder, Trace


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_each_pause_is_recorded_with_its_cpu_time_and_what_it_collected(tmp_path: Path) -> None:
    with GcPauses(tmp_path) as pauses:
        for _ in range(100):
            Cycle()
        gc.collect()
    assert pauses._on_gc not in gc.callbacks  # removed at the end
    (generation, wall, started, cpu, collected) = pauses.rows()[-1]
    assert generation == 2  # gc.collect(): a full collection
    assert wall >= 0
    assert cpu >= 0
    assert started > 0
    assert collected >= 100  # the cycles
    written = orjson.loads((tmp_path / f"gc-{os.getpid()}.json").read_bytes())
    assert written["gc"] == pauses.rows()


def test_the_record_adds_nothing_for_the_collector_to_walk() -> None:
    with GcPauses() as pauses:
        for _ in range(5):
            gc.collect(0)
    assert len(pauses.rows()) >= 5
    # One array of floats, however many pauses: one object for the collector, which
    # refers to nothing but its type (a list of tuples: a tuple a pause to walk).
    assert [type(r) for r in gc.get_referents(pauses.flat)] == [type]
    tracked = [v for v in vars(pauses).values() if gc.is_tracked(v)]
    assert tracked == [pauses.flat]


def test_the_recorder_keeps_a_traces_stamps_not_the_trace(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)
    traces = []
    for n in range(3):
        trace = Trace(arrived=10.0 + n)
        trace.submitted, trace.taken, trace.sent = 10.001 + n, 10.002 + n, 10.05 + n
        trace.batch = n + 1
        traces.append(trace)
    held = [sys.getrefcount(t) for t in traces]
    for trace in traces:
        recorder.add(trace)
    assert [sys.getrefcount(t) for t in traces] == held  # not kept
    # Numbers in arrays: nothing the recorder holds refers to a trace, nor to an object
    # a trace.
    for value in vars(recorder).values():
        assert not any(isinstance(r, Trace) for r in gc.get_referents(value))
    assert [type(r) for r in gc.get_referents(recorder.stamps)] == [type]
    summary = recorder.summary()
    assert summary["arrived"] == [10.0, 11.0, 12.0]
    assert summary["batch"] == [1, 2, 3]
    for n, trace in enumerate(traces):
        for name, values in summary["parts"].items():
            assert values[n] == trace.parts().get(name)
    assert summary["parts"]["auth+body"][0] == pytest.approx(1.0)
    assert summary["parts"]["connect"] == [None, None, None]  # not passed whole
