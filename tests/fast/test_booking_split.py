"""A settlement's amounts are put into text and fen once for its record and its answer
(booking.split_amounts, kept on the engine's result): every amount's text is fmt's and its fen
to_fen's, for amounts of every shape (to the fen or not, zero of either sign, with an
exponent of their own); an amount finer than the fen is still refused by the record
(AmountError, as to_fen refuses it) while a quote's view shows it; and what is kept on one
result is never another's; and the summary of those texts is the engine's words of the
amounts (one composer, EncounterResult.summaries)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from yibao.domain.engine import EncounterResult
from yibao.domain.engine.results import LineResult, Refusal, RefusalCode, Route
from yibao.domain.money import ZERO, AmountError, fmt, fmt_yuan, round_fen, to_fen
from yibao.domain.parameters import Text
from yibao.service.booking import _balanced_and_fund, day_text, split_amounts, split_fen
from yibao.service.catalogue_lines import line_views

# The engine's own ZERO (a part of no kind), other zeros, amounts to the fen or not, with
# a sign, an exponent, separators.
AMOUNTS = [ZERO] + [
    Decimal(text)
    for text in (
        "0", "0.00", "-0.00", "0E-7", "-0", "7", "7.5", "12.50", "999.99", "1000.00",
        "-13.50", "30500.00", "1E+3", "2.5E+1", "-0.5", "13.500000", "3.125", "5E-7",
        "12345678.90",
    )
]  # fmt: skip


def result(total: Decimal, other: Decimal, *, eligible: Decimal | None = None) -> EncounterResult:
    line = LineResult(total, other, other, other, other)
    return EncounterResult(
        "e",
        "resident",
        Route.OUTPATIENT,
        total,
        other if eligible is None else eligible,
        other,
        other,
        other,
        other,
        other,
        None,
        (),
        (line,),
    )


def shown(r: EncounterResult) -> tuple[str, ...]:
    """The nine amounts as fmt shows them, in split_fen's order."""
    return tuple(
        fmt(a)
        for a in (
            r.total,
            r.eligible,
            r.self_pay,
            r.threshold,
            r.basic,
            r.assistance,
            r.institution,
            r.personal,
            r.over_limit,
        )
    )


def words(r: EncounterResult) -> tuple[str, str]:
    """The summary as the engine wrote it before it took texts made already: each amount
    by fmt_yuan, the reference the one composer (EncounterResult.summaries) is held to."""
    total = fmt_yuan(r.total)
    if r.refused is not None:
        reason = r.refused.reason
        return (
            f"本次费用{total}元不予报销：{reason.zh}。您需支付全部{total}元。",
            f"This bill of {total} yuan is not covered: {reason.en}. You pay all {total} yuan.",
        )
    eligible = fmt_yuan(r.eligible)
    zh = [f"本次费用合计{total}元，其中医保范围内{eligible}元。"]
    en = [f"Your bill is {total} yuan; {eligible} of it is covered by the catalogues."]
    for amount, zh_words, en_words in (
        (r.threshold, "起付线{}元由您支付。", "You pay the threshold of {}."),
        (r.basic, "基本医保基金支付{}元。", "The insurance fund pays {}."),
        (r.assistance, "医疗救助支付{}元。", "Medical assistance pays {}."),
        (r.institution, "医院承担{}元。", "The hospital bears {}."),
    ):
        if amount > ZERO:
            zh.append(zh_words.format(fmt_yuan(amount)))
            en.append(en_words.format(fmt_yuan(amount)))
    zh.append(f"您需支付{fmt_yuan(r.personal)}元。")
    en.append(f"You pay {fmt_yuan(r.personal)} yuan.")
    return "".join(zh), " ".join(en)


def fen_or_refused(r: EncounterResult) -> tuple[int, ...] | None:
    try:
        return tuple(split_fen(r).values())
    except AmountError:
        return None


@pytest.mark.parametrize(("total", "other"), list(itertools.product(AMOUNTS, AMOUNTS)))
def test_each_amount_is_shown_as_fmt_and_in_fen_as_to_fen(total: Decimal, other: Decimal) -> None:
    r = result(total, other)
    texts, fens = split_amounts(r)
    assert texts == shown(r)
    assert fens == fen_or_refused(r)
    # a line with one part of the engine's zero and the other not, each way round
    for line in (
        LineResult(total, other, ZERO, other, other),
        LineResult(total, ZERO, other, ZERO, other),
    ):
        one = replace(r, lines=(line,))
        assert split_amounts(one) == (shown(one), fen_or_refused(one))
    # The summary of those texts (an answer's) and of its own (a scenario's): the words
    # of the amounts by fmt_yuan, thousands separators and all.
    assert r.summaries(texts) == r.summaries() == words(r)
    refused = replace(r, refused=Refusal(RefusalCode.SCHEME_NOT_OFFERED, Text(zh="否", en="no")))
    assert refused.summaries(texts) == refused.summaries() == words(refused)


def test_an_amount_finer_than_the_fen_is_refused_by_the_record_as_to_fen_refuses_it() -> None:
    r = result(Decimal("12.50"), Decimal("0.125"))
    assert split_amounts(r)[1] is None
    with pytest.raises(AmountError, match="finer than the fen"):
        split_fen(r)
    # The eligible cost and the threshold are rounded first: never refused.
    exact = result(Decimal("12.50"), ZERO, eligible=Decimal("11.255"))
    assert split_amounts(exact) == (
        ("12.50", "11.26", *["0.00"] * 7),
        (1250, 1126, *[0] * 7),
    )
    assert to_fen(round_fen(Decimal("11.255"))) == 1126


def test_what_is_kept_on_a_result_is_its_own() -> None:
    a = result(Decimal("12.50"), Decimal("1.00"))
    b = result(Decimal("12.50"), Decimal("2.00"))
    assert split_amounts(a)[0][2] == "1.00"
    assert split_amounts(b)[0][2] == "2.00"
    assert split_amounts(a)[1] == (1250, 100, 100, 100, 100, 100, 100, 100, 100)  # kept, not b's


@pytest.mark.parametrize("amount", AMOUNTS)
def test_a_line_shows_its_parts_as_fmt_and_their_exact_texts(amount: Decimal) -> None:
    r = result(amount, amount)
    row = {"line_no": 1, "code": "X", "name": "n", "cls": "A", "quantity": "1"}
    row |= {"unit_price": "1.00"}
    (view,) = line_views([row], r)
    assert view["amount"] == fmt(amount)
    assert view["first_self_pay"] == fmt(amount)
    assert view["eligible"] == fmt(amount)
    assert view["first_self_pay_exact"] == str(amount)
    assert view["eligible_exact"] == str(amount)


@pytest.mark.parametrize(("total", "other"), list(itertools.product(AMOUNTS, AMOUNTS)))
def test_the_balanced_first_self_pay_and_the_fund_are_shown_as_fmt(
    total: Decimal, other: Decimal
) -> None:
    """The answer's first_self_pay and fund_owes_institution, of the fen when the amounts
    are to the fen, of the Decimals when one is not: fmt's texts of the result's own."""
    for r in (
        result(total, other),
        result(total, ZERO),
        result(total, other, eligible=ZERO),
        # each of the nine amounts unlike some other: a term taken for another fails
        replace(result(total, other), threshold=ZERO, assistance=ZERO, institution=ZERO),
        replace(result(total, other), basic=ZERO, personal=ZERO),
    ):
        texts, fens = split_amounts(r)
        balanced, fund = _balanced_and_fund(r, texts[0], texts[4], fens)
        assert balanced == fmt(r.first_self_pay_balanced)
        assert fund == fmt(r.fund)


def test_a_days_text_is_its_isoformat_kept_or_not() -> None:
    """day_text keeps each day's text (bounded: cleared when full), equal days one text."""
    first = date(2020, 1, 1)
    days = [first + timedelta(days=n) for n in range(5000)]  # past the bound: cleared once
    for day in days + days[:10] + [date(2026, 7, 4), date(2026, 7, 4)]:
        assert day_text(day) == day.isoformat()
        assert day_text(date(day.year, day.month, day.day)) == day.isoformat()
