"""Step.forms() is stored() and to_dict() made at once (a card settlement stores the one
and answers the other): for steps of every shape (with and without a parameter, args, a
base, a value) the two forms are those the two methods make, and the stored one reads
back (read_steps) as the shown one."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from string import Formatter

from yibao.domain.explain import MESSAGES, SENTENCES, Step, _compiled, read_steps, stored_and_shown
from yibao.domain.parameters import Ref

REF = Ref("region.yaml", "outpatient.rate", date(2026, 1, 1), "[national] rule 3 note", "level 2")


def names(rule: str) -> dict[str, str]:
    """Every name the rule's sentences take but value, base and result (and the English
    names of a class and a scheme, which a step need not give), shown as itself."""
    texts = MESSAGES[rule].values()
    found = {n for text in texts for _, n, _, _ in Formatter().parse(text) if n}
    return {n: n for n in found - {"value", "base", "result", "cls_en", "scheme_name"}}


def steps() -> list[Step]:
    made = []
    for ref, base, value in itertools.product((None, REF), (None, Decimal("12.50")), ("", "70%")):
        # No args: a rule whose sentences take none of their own.
        made.append(Step("outpatient_rate", Decimal("3.125"), ref, value, base))
        for rule in sorted(MESSAGES):
            made.append(Step(rule, Decimal("3.125"), ref, value, base, names(rule)))
    return made


def test_the_two_forms_are_those_of_stored_and_to_dict() -> None:
    every = steps()
    stored, shown = stored_and_shown(every)
    assert stored == [s.stored() for s in every]
    assert shown == [s.to_dict() for s in every]
    assert read_steps(stored) == shown


def test_each_sentence_says_what_its_template_says() -> None:
    """The rules' sentences are compiled to f-strings: the same text as format_map, for
    words with braces, quotes, backslashes and Chinese in them; a template with a format
    spec or a conversion stays format_map."""
    for rule, texts in MESSAGES.items():
        for lang, text in texts.items():
            words = {**names(rule), "value": "{v}", "base": "\\'\"", "result": "三元"}
            words |= {"cls_en": "A", "scheme_name": "s"}
            assert SENTENCES[rule][lang](words) == text.format_map(words), (rule, lang)
    odd = "{{literal}} {a!r} {b:>4}"
    assert _compiled(odd)({"a": "x", "b": "y"}) == odd.format_map({"a": "x", "b": "y"})
    assert _compiled("{{x}} {a} }}")({"a": "1"}) == "{x} 1 }"
