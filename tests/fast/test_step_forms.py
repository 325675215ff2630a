"""Step.forms() is stored() and to_dict() made at once (a card settlement stores the one
and answers the other): for steps of every shape (with and without a parameter, args, a
base, a value; amounts of every shape) the two forms are those the two methods make, the
shown one says what the rule's template says of the step's words as they were made
before the sentences took value, base and result apart (format_map, fmt_yuan), and the
stored one reads back (read_steps) as the shown one."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from string import Formatter
from typing import Any

from yibao.domain.explain import (
    _PAIRS,
    CLASS_EN,
    MESSAGES,
    SCHEME_EN,
    SENTENCES,
    Step,
    _compiled,
    _compiled_pair,
    read_steps,
    stored_and_shown,
)
from yibao.domain.money import fmt_yuan
from yibao.domain.parameters import Ref

REF = Ref("region.yaml", "outpatient.rate", date(2026, 1, 1), "[national] rule 3 note", "level 2")


def names(rule: str) -> dict[str, str]:
    """Every name the rule's sentences take but value, base and result (and the English
    names of a class and a scheme, which a step need not give), shown as itself."""
    texts = MESSAGES[rule].values()
    found = {n for text in texts for _, n, _, _ in Formatter().parse(text) if n}
    return {n: n for n in found - {"value", "base", "result", "cls_en", "scheme_name"}}


# Amounts of every shape _yuan tells apart: to the fen or not, under 1000 or not, with a
# sign, a negative zero, an exponent of their own.
AMOUNTS = [
    Decimal(text)
    for text in (
        "3.125", "0", "0.00", "-0.00", "-0.001", "7", "7.5", "12.50", "999.99", "999.995",
        "1000.00", "-999.99", "-99.99", "-1000.00", "30500.00", "1234567.891", "1E+3", "5E-7",
        # Finer than the fen, rounded from the text or not: a third decimal under 5 or not.
        "13.500000", "22.5000", "0.004", "-0.004", "0.005", "-0.005", "0.0049999", "999.994",
        "999.995", "-999.994", "1000.004", "12.3456789", "1.234E-7", "1.5E+3", "7.5",
    )
]  # fmt: skip


def steps() -> list[Step]:
    made = []
    for ref, base, value in itertools.product((None, REF), (None, Decimal("12.50")), ("", "70%")):
        # No args: a rule whose sentences take none of their own.
        made.append(Step("outpatient_rate", Decimal("3.125"), ref, value, base))
        for rule in sorted(MESSAGES):
            made.append(Step(rule, Decimal("3.125"), ref, value, base, names(rule)))
    for result, base in itertools.product(AMOUNTS, [None, *AMOUNTS]):
        made.append(Step("threshold", result, None, "10", base, names("threshold")))
    for rule in ("eligible_share", "basic", "si_not_covered", "outpatient_rate"):
        # The English names made from the codes, or given; args naming value, base, result.
        plain = names(rule)
        for extra in ({"cls": "B", "scheme": "resident"}, {"cls_en": "X", "scheme_name": "Y"}):
            made.append(Step(rule, Decimal("3.10"), REF, "9", Decimal("1"), {**plain, **extra}))
        own = {**plain, "value": "v!", "base": "b!", "result": "r!"}
        for ref in (None, REF):
            made.append(Step(rule, Decimal("3.10"), ref, "9", Decimal("1"), own))
    return made


def as_before(step: Step) -> dict[str, Any]:
    """Step.to_dict() as it was made before (the words a dict, format_map, fmt_yuan)."""
    words = {
        "value": step.value,
        "base": "" if step.base is None else fmt_yuan(step.base),
        "result": fmt_yuan(step.result),
        **step.args,
    }
    words.setdefault("cls_en", CLASS_EN.get(words.get("cls", ""), words.get("cls", "")))
    scheme = words.get("scheme", "")
    words.setdefault("scheme_name", SCHEME_EN.get(scheme, scheme))
    cited = "" if step.ref is None else step.ref.citation
    return {
        "rule": step.rule,
        "parameter": None if step.ref is None else dict(step.ref.parameter),
        "value": step.value,
        "base": None if step.base is None else str(step.base),
        "result": str(step.result),
        "args": dict(step.args),
        "text": {
            lang: MESSAGES[step.rule][lang].format_map(words) + cited for lang in ("en", "zh")
        },
    }


def test_the_two_forms_are_those_of_stored_and_to_dict() -> None:
    every = steps()
    stored, shown = stored_and_shown(every)
    assert stored == [s.stored() for s in every]
    assert shown == [s.to_dict() for s in every]
    assert shown == [as_before(s) for s in every]
    assert [s.text("en") for s in every] == [d["text"]["en"] for d in shown]
    assert [s.text("zh") for s in every] == [d["text"]["zh"] for d in shown]
    assert read_steps(stored) == shown


def test_each_sentence_says_what_its_template_says() -> None:
    """The rules' sentences are compiled to f-strings: the same text as format_map, for
    words with braces, quotes, backslashes and Chinese in them; a template with a format
    spec or a conversion stays format_map."""
    for rule, texts in MESSAGES.items():
        for lang, text in texts.items():
            words = {**names(rule), "value": "{v}", "base": "\\'\"", "result": "三元"}
            words |= {"cls_en": "A", "scheme_name": "s"}
            said = SENTENCES[rule][lang](words["value"], words["base"], words["result"], words)
            assert said == text.format_map(words), (rule, lang)
        # Both at once, each with the citation after it; the English names made or given.
        for given in ({}, {"cls_en": "A", "scheme_name": "s"}):
            words = {**names(rule), "cls": "B", "scheme": "resident", **given}
            both = _PAIRS[rule]("{v}", "\\'\"", "三元", words, " [c]")
            alone = tuple(
                SENTENCES[rule][lang]("{v}", "\\'\"", "三元", words) for lang in ("en", "zh")
            )
            assert both == (alone[0] + " [c]", alone[1] + " [c]"), rule
    odd = "{{literal}} {a!r} {b:>4} {value}"
    want = odd.format_map({"a": "x", "b": "y", "value": "v"})
    assert _compiled(odd)("v", "", "", {"a": "x", "b": "y"}) == want
    assert _compiled("{{x}} {a} }} {result}{base}")("", "b", "r", {"a": "1"}) == "{x} 1 } rb"
    pair = _compiled_pair(odd, "{{x}} {a} }} {result}{base}")
    assert pair("v", "b", "r", {"a": "x", "b": "y"}, "!") == (want + "!", "{x} x } rb!")
    # The English names of a class and a scheme, made of their codes where not given.
    for template, empty in (
        ("{cls_en} {scheme_name}", " "),
        ("{cls_en!s} {scheme_name:>2}", "   "),
    ):
        said = _compiled(template)
        assert said("", "", "", {"cls": "B", "scheme": "nope"}) == "Class B nope"
        assert said("", "", "", {"cls": "B", "cls_en": "b", "scheme": "employee"}) == (
            "b Employees' basic medical insurance"
        )
        assert said("", "", "", {}) == empty


def test_what_a_step_makes_of_its_parameter_is_that_parameters_own() -> None:
    """Each Ref keeps the citation and forms its steps make of it (explain._cited): a Ref
    of the same row in another policy (a new file, key, day, note or row of a table, as a
    policy reloaded makes them) is cited as itself, never as the one cited before."""
    before = Step("outpatient_rate", Decimal("3.00"), REF, "70%", Decimal("5.00"))
    assert before.to_dict()["text"]["en"].endswith(REF.citation)
    for changed in (
        Ref("other.yaml", REF.key, REF.since, REF.source, REF.when),
        Ref(REF.file, "outpatient.other", REF.since, REF.source, REF.when),
        Ref(REF.file, REF.key, date(2027, 1, 1), REF.source, REF.when),
        Ref(REF.file, REF.key, REF.since, "[regional] rule 4", REF.when),
        Ref(REF.file, REF.key, REF.since, REF.source, "level 3"),
    ):
        step = Step("outpatient_rate", Decimal("3.00"), changed, "70%", Decimal("5.00"))
        stored, shown = step.forms()
        assert shown == as_before(step)
        assert shown["parameter"] != before.to_dict()["parameter"]
        assert stored[-1] == [
            changed.file,
            changed.key,
            changed.since_text,
            changed.source,
            changed.when,
        ]
        assert Step.from_stored(stored).ref == changed
    # Each form is a copy of its own: what a caller does to one is not in the next.
    first = before.forms()
    first[0][-1].append("x")
    first[1]["parameter"]["file"] = "x"
    assert before.forms() == (before.stored(), as_before(before))
