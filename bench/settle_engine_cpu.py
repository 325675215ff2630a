"""Benchmark: the engine alone (settle_encounter) on the bills bench/settle_batch_cpu.py settles.

    .venv/bin/python bench/settle_engine_cpu.py [--repeat 3] [--dump FILE] [--profile N]
    valgrind --tool=callgrind --instr-atstart=no .venv/bin/python bench/settle_engine_cpu.py --callgrind

Runs settle_batch_cpu's set-up and one round of its batches (the same database,
YIBAO_CPU_DATABASE), keeping what the service handed the engine for each bill (policy,
person, encounter, the year so far); then settles those again, `repeat` times, with
nothing else around them: with --callgrind only that is instrumented, and callgrind's
instructions divided by the settlements is the engine's cost a bill. --dump writes each
settlement's result and accumulators as text, to compare two versions of the engine
(`cmp`): the same inputs must give the same output, to the fen and to the step.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time

from settle_batch_cpu import callgrind_toggles, settle_batches, warmed
from yibao.domain.accumulators import YearAccumulators
from yibao.domain.engine import EncounterResult, settle_encounter
from yibao.domain.model import Encounter, Person
from yibao.domain.parameters import RegionPolicy
from yibao.entrypoints.api.runtime import tune_runtime
from yibao.service import booking
from yibao.settings import Settings

NAME = os.environ.get("YIBAO_CPU_DATABASE", "yibao_batch_cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--dump", metavar="FILE")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()

    per_round = args.batches * args.size
    engine, service, todo = warmed(NAME, args.persons, per_round, 1, args.seed, args.size)
    inputs: list[tuple[RegionPolicy, Person, Encounter, YearAccumulators]] = []

    def kept(
        policy: RegionPolicy, person: Person, enc: Encounter, acc: YearAccumulators
    ) -> tuple[EncounterResult, YearAccumulators]:
        inputs.append((policy, person, enc, acc))
        return settle_encounter(policy, person, enc, acc)

    # booking imports settle_encounter without re-exporting it (attr-defined); its own
    # name for it is what the use case calls, so that is the one swapped.
    booking.settle_encounter = kept  # type: ignore[attr-defined]
    settle_batches(engine, service, todo[per_round:], args.size)
    booking.settle_encounter = settle_encounter  # type: ignore[attr-defined]
    engine.dispose()

    if args.dump:
        with open(args.dump, "w") as out:
            for given in inputs:
                result, acc = settle_encounter(*given)
                out.write(f"{result!r}\n{acc!r}\n")
    tune_runtime(Settings())
    start, stop = callgrind_toggles() if args.callgrind else (lambda: None, lambda: None)
    profile = cProfile.Profile(time.process_time) if args.profile else None
    started = time.process_time()
    start()
    if profile:
        profile.enable()
    for _ in range(args.repeat):
        for given in inputs:
            settle_encounter(*given)
    if profile:
        profile.disable()
    stop()
    spent = time.process_time() - started
    settled = len(inputs) * args.repeat
    print(f"settlements: {settled}; CPU µs a settlement {spent * 1e6 / settled:.1f}")
    if args.callgrind:
        print(f"callgrind: divide the 'measured' dump's instructions by {settled}")
    if profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)


if __name__ == "__main__":
    main()
