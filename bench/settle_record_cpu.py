"""Benchmark: what follows the engine for a card settlement, alone: the stored record, the
answer view, the kept idempotency answer and the bill's fingerprint.

    .venv/bin/python bench/settle_record_cpu.py [--repeat 3] [--part all] [--dump FILE]
    PYTHONHASHSEED=0 valgrind --tool=callgrind --instr-atstart=no \
        .venv/bin/python bench/settle_record_cpu.py --callgrind [--part record]

Runs settle_batch_cpu's set-up and one round of its batches (the same database,
YIBAO_CPU_DATABASE), keeping what SettlementService.settle_in handed each of these parts
(service/settlement.py's names for them); then makes them again, `repeat` times, with
nothing else around them: with --callgrind only that is instrumented, and callgrind's
instructions divided by the settlements is the parts' cost a bill. `--part` makes one of
them only (record, view, kept, fingerprint). --dump writes what each bill's parts made
(the record's row, lines and entries, the view, the kept answer, the fingerprint) as
text, to compare two versions (`cmp`): they must be the same, byte for byte.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from typing import Any

import orjson

from settle_batch_cpu import callgrind_toggles, settle_batches, warmed
from yibao.entrypoints.api.runtime import tune_runtime
from yibao.service import settlement
from yibao.service.booking import settlement_record, settlement_view
from yibao.service.kept_answer import kept_answer
from yibao.settings import Settings

NAME = os.environ.get("YIBAO_CPU_DATABASE", "yibao_batch_cpu")
PARTS = ("record", "view", "kept", "fingerprint")
# The parts but the fingerprint (a method of the bill) by their names in service/settlement.py.
NAMES = {"record": "settlement_record", "view": "settlement_view", "kept": "kept_answer"}


Given = dict[str, list[tuple[Any, ...]]]


def captured(engine: Any, service: Any, todo: Any, size: int) -> tuple[Given, Given]:
    """What settle_in gave each part, bill by bill, over one round of batches; and each
    bill's line rows as resolve made them (the record completes them in place)."""
    given: Given = {part: [] for part in PARTS}
    pristine: Given = {"rows": [], "results": []}
    originals = {part: getattr(settlement, name) for part, name in NAMES.items()}

    def keeping(part: str) -> Any:
        def call(*args: Any) -> Any:
            given[part].append(args)
            if part == "record":
                pristine["rows"].append(tuple(dict(row) for row in args[0].lines))
                pristine["results"].append((dict(args[1].__dict__),))
            return originals[part](*args)

        return call

    fingerprint = settlement.Bill.fingerprint

    def kept_fingerprint(bill: settlement.Bill) -> str:
        given["fingerprint"].append((bill,))
        return fingerprint(bill)

    for part, name in NAMES.items():
        setattr(settlement, name, keeping(part))
    setattr(settlement.Bill, "fingerprint", kept_fingerprint)  # noqa: B010 (a method)
    try:
        settle_batches(engine, service, todo, size)
    finally:
        for part, name in NAMES.items():
            setattr(settlement, name, originals[part])
        setattr(settlement.Bill, "fingerprint", fingerprint)  # noqa: B010 (a method)
    return given, pristine


def fresh(given: Given, pristine: Given) -> Given:
    """The arguments as settle_in gave them, anew: each bill's prepared bill with its
    line rows as resolve made them, its result with only what it kept when the record
    was made (split_amounts keeps its texts on it), so that each repeat makes everything
    as the first did."""
    again: Given = {part: [] for part in PARTS}
    prepared, results = {}, {}
    for args, rows, (kept,) in zip(
        given["record"], pristine["rows"], pristine["results"], strict=True
    ):
        prepared[id(args[0])] = replace(args[0], lines=tuple(dict(row) for row in rows))
        result = object.__new__(type(args[1]))
        result.__dict__.update(kept)
        results[id(args[1])] = result
    for p, r, *rest in given["record"]:
        again["record"].append((prepared[id(p)], results[id(r)], *rest))
    for sid, p, r, *rest in given["view"]:
        again["view"].append((sid, prepared[id(p)], results[id(r)], *rest))
    for sid, lines, r, view in given["kept"]:
        again["kept"].append((sid, lines, results[id(r)], view))
    again["fingerprint"] = list(given["fingerprint"])
    return again


def made(part: str, args: tuple[Any, ...]) -> Any:
    if part == "record":
        return settlement_record(*args)
    if part == "view":
        return settlement_view(*args)
    if part == "kept":
        return kept_answer(*args)
    return args[0].fingerprint()


def dump(given: Given, path: str) -> None:
    with open(path, "wb") as out:
        for part in PARTS:
            for args in given[part]:
                one = made(part, args)
                if part == "record":
                    # its time of making aside: the rest must be the same
                    values = {**one.values, "created_at": None}
                    one = [values, one.lines, one.ledger, one.person_id, repr(one.year)]
                out.write(orjson.dumps(one, option=orjson.OPT_PASSTHROUGH_DATACLASS, default=str))
                out.write(b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--part", choices=("all", *PARTS), default="all")
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--dump", metavar="FILE")
    args = parser.parse_args()

    per_round = args.batches * args.size
    engine, service, todo = warmed(NAME, args.persons, per_round, 1, args.seed, args.size)
    given, pristine = captured(engine, service, todo[per_round:], args.size)
    engine.dispose()
    if args.dump:
        dump(fresh(given, pristine), args.dump)
    rounds = [fresh(given, pristine) for _ in range(args.repeat)]
    parts = PARTS if args.part == "all" else (args.part,)
    tune_runtime(Settings())
    start, stop = callgrind_toggles() if args.callgrind else (lambda: None, lambda: None)
    bills = len(given["record"])
    started = time.process_time()
    start()
    for again in rounds:
        for part in parts:
            for one in again[part]:
                made(part, one)
    stop()
    spent = time.process_time() - started
    settled = bills * args.repeat
    print(f"bills: {settled}; parts {','.join(parts)}; CPU µs a bill {spent * 1e6 / settled:.1f}")
    if args.callgrind:
        print(f"callgrind: divide the 'measured' dump's instructions by {settled}")


if __name__ == "__main__":
    main()
