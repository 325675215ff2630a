"""A settlement's answers do not move when its code is made faster: 400 generated bills
on the demo region (fast/answers.py) give, byte for byte, the views, refusals, stored
rows, lines, ledger entries, accumulators and kept answers that the code before the
settlement CPU work gave (settlement_answers.txt, made by 712dfde's code)."""

from __future__ import annotations

from pathlib import Path

from fast.answers import answers, digest

GOLDEN = Path(__file__).with_name("settlement_answers.txt")


def test_generated_bills_are_answered_and_stored_as_before_byte_for_byte() -> None:
    want = GOLDEN.read_text().split()
    got = [digest(answer) for answer in answers()]
    assert len(got) == len(want)
    moved = [no for no, (a, b) in enumerate(zip(got, want, strict=True)) if a != b]
    # The bills whose answers moved: `python -m fast.answers --full N` shows them.
    assert moved == []
