"""Explanations: each step that moved money, citing the parameter, and a plain summary.

A `Step` is data (rule, parameter reference, value, base, result); the sentences are
made from it in Chinese or English, so the same step reads right to a clerk in either
language and can be stored as JSON.

Stored, a step is its data only, as a JSON array (`Step.stored()`): the sentences are
made when it is read (`read_steps`), so a settlement's row carries neither the two
languages' words nor the keys of a JSON object on every step (its explanation was most
of the row: over 2 kB, which PostgreSQL compressed on every write). Rows written before
(a list of `to_dict()` objects, their words included) read as they were written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from string import Formatter
from typing import Any, NamedTuple

from yibao.domain.money import fmt_yuan, round_fen
from yibao.domain.parameters import Ref

# One sentence per rule. Placeholders: {value} the parameter's value as shown, {base}
# the amount it applied to, {result} what it produced, and the step's own args.
MESSAGES: Mapping[str, Mapping[str, str]] = {
    "eligible_share": {
        "en": "{cls_en} lines {base} × eligible share {value} = {result} within the catalogue",
        "zh": "{cls_zh}费用{base}元 × 纳入比例{value} = {result}元属医保范围",
    },
    "line_over_limit": {
        "en": "Line {no}{item}: unit price {price} above the price cap {value}: "
        "({price} − {value}) × {quantity} = {result} is over-limit self-pay, paid by you",
        "zh": "第{no}项{item_zh}：单价{price}元超过最高限价{value}元：({price} − {value}) × {quantity} = "
        "{result}元为超限价自费，由个人支付",
    },
    "line_restricted": {
        "en": "Line {no}{item} is outside its payment restriction{restriction}: "
        "{result} is self-paid",
        "zh": "第{no}项{item_zh}不符合限定支付范围{restriction_zh}：{result}元全部自费",
    },
    "line_self_pay": {
        "en": "Line {no}{item} is outside the catalogues: {result} is self-paid",
        "zh": "第{no}项{item_zh}属目录外{cls_zh}项目：{result}元全部自费",
    },
    "line_first_self_pay": {
        "en": "Line {no}{item}, class {cls}: first self-pay {value} ({whose}) of {base} = {first} "
        "paid by you; {result} within the catalogue",
        "zh": "第{no}项{item_zh}（{cls_zh}）：先行自付比例{value}（{whose_zh}），{base}元中{first}元"
        "由个人先行自付，{result}元属医保范围",
    },
    "not_designated": {
        "en": "{hospital} is not a designated institution: the whole bill {base} is paid by you",
        "zh": "{hospital}不是定点医疗机构：费用{base}元全部由个人支付",
    },
    "no_prescription": {
        "en": "Pharmacy purchase without a prescription from a designated hospital: "
        "{base} is paid by you",
        "zh": "药店购药无定点医院处方：费用{base}元全部由个人支付",
    },
    "emergency_anywhere": {
        "en": "Emergency at {hospital}: settled at the insured place's rates even though "
        "it is not designated",
        "zh": "在{hospital}急诊：虽非定点机构，仍按参保地标准结算",
    },
    "refused": {
        "en": "Refused: {reason}. The whole bill {base} is paid by you",
        "zh": "不予支付：{reason_zh}。费用{base}元全部由个人支付",
    },
    "filed": {
        "en": "Remote-treatment filing for {region} ({start} to {end}): no reduction for treatment elsewhere",
        "zh": "已办理异地就医备案（{region}，{start}至{end}）：不因异地就医降低待遇",
    },
    "elsewhere": {
        "en": "Treated in {region} ({how}): {method}",
        "zh": "在{region}就医（{how_zh}）：{method_zh}",
    },
    "threshold": {
        "en": "Threshold {value} ({per}); {charged_before} already charged: "
        "{result} of the eligible {base} is paid by you",
        "zh": "起付标准{value}元（{per_zh}），已累计{charged_before}元：本次{base}元中{result}元由个人支付",
    },
    "outpatient_rate": {
        "en": "Fund pays {value} of {base} = {result}",
        "zh": "基金按{value}支付{base}元 = {result}元",
    },
    "outpatient_limit": {
        "en": "Yearly outpatient fund limit {value}, {remaining} left: payment cut from {base} to {result}",
        "zh": "门诊年度基金限额{value}元，剩余{remaining}元：支付由{base}元减为{result}元",
    },
    "segment": {
        "en": "Pooled cost {lower}–{upper} of the year at {value}: {base} × {value} = {result}",
        "zh": "年度累计统筹费用{lower}–{upper}元段按{value}：{base}元 × {value} = {result}元",
    },
    "top_line_cost": {
        "en": "Annual top line of pooled cost {value}: {base} above it is not paid by the fund",
        "zh": "年度统筹费用最高支付限额{value}元：超出部分{base}元基金不予支付",
    },
    "top_line_payment": {
        "en": "Annual top line of fund payments {value}, {remaining} left: payment cut from {base} to {result}",
        "zh": "年度基金最高支付限额{value}元，剩余{remaining}元：支付由{base}元减为{result}元",
    },
    "reduction_share": {
        "en": "Treatment elsewhere ({how}): the fund's payment is reduced by {value}: {base} → {result}",
        "zh": "异地就医（{how_zh}）：基金支付降低{value}：{base}元 → {result}元",
    },
    "basic": {
        "en": "{scheme_name}: the fund pays {result}",
        "zh": "{scheme_zh}基金支付{result}元",
    },
    "pilot_base": {
        "en": "Children's major-disease pilot, {disease} ({code}): limited cost {value}; "
        "base = min(eligible {base}, limited cost) = {result}",
        "zh": "儿童重大疾病试点，{disease_zh}（{code}）：限定费用{value}元；"
        "计算基数 = min(医保范围费用{base}元, 限定费用) = {result}元",
    },
    "pilot_rate": {
        "en": "Fund pays {value} of the base {base} = {result}",
        "zh": "基金按{value}支付基数{base}元 = {result}元",
    },
    "pilot_assistance": {
        "en": "Medical assistance (family in assistance) pays {value} of the base {base} = {result}",
        "zh": "医疗救助（救助对象家庭）按{value}支付基数{base}元 = {result}元",
    },
    "pilot_institution": {
        "en": "Eligible cost above the limited cost, {result}, is borne by the hospital, not the family",
        "zh": "超出限定费用的医保范围费用{result}元由医院承担，不由家庭支付",
    },
    "personal": {
        "en": "You pay {result} = total {base} − fund {fund} − hospital {institution}",
        "zh": "个人支付{result}元 = 总费用{base}元 − 基金{fund}元 − 医院承担{institution}元",
    },
    "si_base": {
        "en": "Serious illness: your personal payment on eligible cost this year is {result}",
        "zh": "大病保险：本年度医保范围内个人负担{result}元",
    },
    "si_bracket": {
        "en": "Part {lower}–{upper} at {value}: {base} × {value} = {result}",
        "zh": "{lower}–{upper}元段按{value}：{base}元 × {value} = {result}元",
    },
    "si_top_line": {
        "en": "Serious-illness top line {value}: payment cut from {base} to {result}",
        "zh": "大病保险年度最高支付{value}元：支付由{base}元减为{result}元",
    },
    "si_total": {
        "en": "Serious-illness insurance pays {result} for the year",
        "zh": "大病保险本年度支付{result}元",
    },
    "threshold_continued": {
        "en": "Referred up from {origin} in the same episode: thresholds {before} already "
        "charged count toward this stay's {value}: {result} of the eligible {base} is paid by you",
        "zh": "同一疗程由{origin}向上转诊：已累计起付标准{before}元，本次起付标准{value}元，"
        "{base}元中{result}元由个人支付",
    },
    "threshold_waived": {
        "en": "Referred down from {origin} in the same episode: no threshold",
        "zh": "同一疗程由{origin}向下转诊：不再计算起付标准",
    },
    "rate_points": {
        "en": "Rates raised by {value} for this bill",
        "zh": "支付比例提高{value}",
    },
    "fixed_sum": {
        "en": "Fixed sum {value}, at most the eligible {base}: the fund pays {result}",
        "zh": "定额支付{value}元，不超过医保范围费用{base}元：基金支付{result}元",
    },
    "cause_cap": {
        "en": "Payments for {cause} at most {value} a year; {remaining} left: "
        "the fund pays {result} of {base}",
        "zh": "{cause_zh}基金年度最高支付{value}元，尚余{remaining}元：基金支付{base}元中的{result}元",
    },
    "si_group": {
        "en": "Diagnosis group {group}: personal payment on eligible cost {base}, "
        "settled on its own scale",
        "zh": "{group}病种组：个人负担的医保范围费用{base}元，单独计算",
    },
    "si_not_covered": {
        "en": "Serious-illness insurance is not part of {scheme_name}",
        "zh": "大病保险不覆盖{scheme_zh}",
    },
}

CLASS_ZH = {"A": "甲类", "B": "乙类", "self_pay": "自费"}
CLASS_EN = {"A": "Class A", "B": "Class B", "self_pay": "Self-pay"}
# A scheme's name when the step does not carry its policy label (settled before steps did).
SCHEME_EN = {
    "student": "Students' and children's basic medical insurance",
    "resident": "Residents' basic medical insurance",
    "employee": "Employees' basic medical insurance",
}
SCHEME_ZH = {
    "student": "学生儿童基本医疗保险",
    "resident": "城乡居民基本医疗保险",
    "employee": "职工基本医疗保险",
}
PER_ZH = {"stay": "每次住院", "year": "每年", "year_and_disease": "每年每病种"}
HOW_ZH = {
    "filed": "已备案",
    "referral": "转诊",
    "emergency": "急诊",
    "unfiled": "未备案、未转诊",
}
CAUSE_ZH = {"accident": "意外伤害", "ordinary": "普通疾病"}


# The names a rule's sentences take that a step may leave out: the English names of a
# line class and a scheme, made of their codes (never shown as codes) where not given.
_NAMED = {"cls_en": ("cls", CLASS_EN), "scheme_name": ("scheme", SCHEME_EN)}


def _named(words: Mapping[str, str], name: str) -> str:
    if name in words:
        return words[name]
    code, names = _NAMED[name]
    given = words.get(code, "")
    return names.get(given, given)


# A rule's sentence from the step's value, base and result as shown and its args (the
# words format_map took: {"value": ..., "base": ..., "result": ..., **args}).
Sentence = Callable[[str, str, str, Mapping[str, str]], str]
# The words a step always has: args naming one of them override it (no rule's do).
_OWN = frozenset(("value", "base", "result"))


def _compiled(template: str) -> Sentence:
    """`template.format_map(words)` as an f-string of the same text: a step's two sentences
    cost five times less (str.format parses its template on every call), and value, base
    and result are passed as they are, so no dict of the words is made for most steps. A
    template with a format spec, a conversion or a name that is not an identifier stays
    format_map."""
    pieces: list[str] = []
    names: list[str] = []
    for literal, name, spec, conversion in Formatter().parse(template):
        pieces.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is None:
            continue
        if spec or conversion or not name.isidentifier():
            return _mapped(template)
        if name in _OWN:
            pieces.append(f"{{{name[0]}}}")  # v, b or r: the lambda's own parameters
            continue
        if name in _NAMED:  # given, or made of the code (few rules)
            pieces.append(f"{{_named(a, k{len(names)})}}")
        else:  # the name is a default: no quotes inside
            pieces.append(f"{{a[k{len(names)}]}}")
        names.append(name)
    keys = "".join(f", k{n}={name!r}" for n, name in enumerate(names))
    made: Sentence = eval(  # the template's own text
        f"lambda v, b, r, a{keys}: f{''.join(pieces)!r}", {"_named": _named}
    )
    return made


def _mapped(template: str) -> Sentence:
    named = [n for _, n, _, _ in Formatter().parse(template) if n in _NAMED]

    def say(v: str, b: str, r: str, a: Mapping[str, str]) -> str:
        words = {"value": v, "base": b, "result": r, **a}
        words.update({name: _named(words, name) for name in named})
        return template.format_map(words)

    return say


# Each rule's sentences, made from MESSAGES once.
SENTENCES: Mapping[str, Mapping[str, Sentence]] = {
    rule: {lang: _compiled(text) for lang, text in texts.items()}
    for rule, texts in MESSAGES.items()
}

# A rule's two sentences at once, each followed by the citation `c` ("" for a step
# without a parameter): Step.forms' words, from one call that reads each word once.
Sentences = Callable[[str, str, str, Mapping[str, str], str], tuple[str, str]]


def _compiled_pair(en: str, zh: str) -> Sentences:
    """`(SENTENCES' en + c, zh + c)` as one function: the two f-strings of _compiled in one
    lambda, each name of the args read once for both and the citation written as the
    f-string's last piece (one string built a language, not two joined). Templates that
    _compiled leaves to format_map are called as such."""
    pieces: list[list[str]] = [[], []]
    names: list[str] = []
    for lang, template in enumerate((en, zh)):
        for literal, name, spec, conversion in Formatter().parse(template):
            pieces[lang].append(literal.replace("{", "{{").replace("}", "}}"))
            if name is None:
                continue
            if spec or conversion or not name.isidentifier():
                said_en, said_zh = _compiled(en), _compiled(zh)
                return lambda v, b, r, a, c: (said_en(v, b, r, a) + c, said_zh(v, b, r, a) + c)
            if name in _OWN:
                pieces[lang].append(f"{{{name[0]}}}")
                continue
            if name not in names:
                names.append(name)
            pieces[lang].append(f"{{w{names.index(name)}}}")
        pieces[lang].append("{c}")
    reads = "".join(
        f"; w{n} = _named(a, {name!r})" if name in _NAMED else f"; w{n} = a[{name!r}]"
        for n, name in enumerate(names)
    )
    source = (
        f"def said(v, b, r, a, c):\n    pass{reads}\n"
        f"    return f{''.join(pieces[0])!r}, f{''.join(pieces[1])!r}\n"
    )
    made: dict[str, Any] = {}
    exec(source, {"_named": _named}, made)  # the templates' own text
    pair: Sentences = made["said"]
    return pair


_PAIRS = {rule: _compiled_pair(texts["en"], texts["zh"]) for rule, texts in MESSAGES.items()}


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _yuan(amount: Decimal, text: str) -> str:
    """fmt_yuan(amount), `text` being str(amount), at a fraction of its cost: an amount to
    the fen shows as its text (no exponent: "d.dd" is all of it), another as its rounded
    text; one under 1000 (most of a bill's) needs no separator: as fmt_yuan shows it.
    An amount finer than the fen (an exact part: "13.500000") whose third decimal is
    under 5 rounds half-up to its text cut after the second: its rounded text without a
    Decimal operation."""
    if text[-3:-2] != ".":
        dot = text.find(".")
        if 0 < dot < len(text) - 3 and text[dot + 3] < "5" and "E" not in text:
            text = text[: dot + 3]
        else:
            text = str(round_fen(amount))
    if len(text) < 7:  # "ddd.dd", "-dd.dd"; fmt_yuan's "-999.99" is its text too
        return text
    return fmt_yuan(amount)


def _own(
    value: str, base: str, result: str, args: Mapping[str, str]
) -> tuple[str, str, str, Mapping[str, str]]:
    """What a step's sentences take: its value, base and result as shown, and its args,
    unless the args name one of the three (no rule's do): then the words are those
    format_map took, {"value": ..., "base": ..., "result": ..., **args}."""
    if _OWN.isdisjoint(args):
        return value, base, result, args
    words = {"value": value, "base": base, "result": result, **args}
    return words["value"], words["base"], words["result"], words


# A Ref is made once per parameter row (domain/dated.py) and cited by every bill settled
# under it: the three things an explanation's step makes of it (its citation, its shown
# and stored forms) are kept on it, as Ref keeps its own (one look-up a step, not five).
_CITED = "_step_cited"


def _cited(ref: Ref) -> tuple[str, dict[str, str], tuple[str, ...]]:
    made = (
        ref.citation,
        dict(ref.parameter),
        (ref.file, ref.key, ref.since_text, ref.source, ref.when),
    )
    ref.__dict__[_CITED] = made
    return made


# The args of a step that has none: one empty mapping, never changed (a step's args are
# read only: its forms copy them).
_NO_ARGS: Mapping[str, str] = {}


class Step(NamedTuple):
    """One step of an explanation. A named tuple, not a frozen dataclass: a bill makes
    some five and turns each into its two forms, and a tuple is made at a third of the
    cost (no __dict__ to fill) and read at once (`forms` unpacks it: one operation, not
    six attribute reads). Its fields, equality and repr are the dataclass's were."""

    rule: str
    result: Decimal
    ref: Ref | None = None
    value: str = ""
    base: Decimal | None = None
    args: Mapping[str, str] = _NO_ARGS

    def text(self, lang: str = "en") -> str:
        sentence = SENTENCES[self.rule][lang](*self._said())
        ref = self.ref
        # The citation names file and key and whether the number is the source text's or
        # the region's own; the full note is in to_dict() and `yibao policy show`.
        return sentence if ref is None else sentence + ref.citation

    def _said(self) -> tuple[str, str, str, Mapping[str, str]]:
        """What the rule's sentences take (`Sentence`): value, base and result as shown,
        and the args."""
        amount = self.base
        base_words = "" if amount is None else _yuan(amount, str(amount))
        return _own(self.value, base_words, _yuan(self.result, str(self.result)), self.args)

    def to_dict(self) -> dict[str, Any]:
        return self.forms()[1]

    def forms(self) -> tuple[list[Any], dict[str, Any]]:
        """`stored()` and `to_dict()` at once (a card settlement stores the one and answers
        the other), the amounts' texts and the args' copy made once for both. What _said()
        makes is made here without its calls (a call is some 5% of a step's cost)."""
        rule, amount, ref, value, base, given = self
        result = str(amount)
        # _yuan(), whose first test (an amount to the fen under 1000: "d.dd" to "ddd.dd")
        # is made here, for most of a bill's amounts pass it.
        result_words = result
        if result[-3:-2] != "." or len(result) > 6:
            result_words = _yuan(amount, result)
        if base is None:
            base_text = None
            base_words = ""
        else:
            base_text = str(base)
            base_words = base_text
            if base_text[-3:-2] != "." or len(base_text) > 6:
                base_words = _yuan(base, base_text)
        # One copy: the stored form is written out as it is made (of no args, a new dict).
        args = dict(given) if given else {}
        said = value  # the value and the args the sentences take
        words: Mapping[str, str] = args
        if args and ("value" in args or "base" in args or "result" in args):  # no rule's do
            said, base_words, result_words, words = _own(value, base_words, result_words, args)
        stored: list[Any]
        if ref is None:
            en_text, zh_text = _PAIRS[rule](said, base_words, result_words, words, "")
            parameter = None
            if args:
                stored = [rule, result, value, base_text, args]
            elif base_text is not None:
                stored = [rule, result, value, base_text]
            else:
                stored = [rule, result, value] if value else [rule, result]
        else:
            cited, shown_ref, stored_ref = ref.__dict__.get(_CITED) or _cited(ref)
            en_text, zh_text = _PAIRS[rule](said, base_words, result_words, words, cited)
            parameter = dict(shown_ref)
            stored = [rule, result, value, base_text, args, list(stored_ref)]
        shown = {
            "rule": rule,
            "parameter": parameter,
            "value": value,
            "base": base_text,
            "result": result,
            "args": args,
            "text": {"en": en_text, "zh": zh_text},
        }
        return stored, shown

    def stored(self) -> list[Any]:
        """The step as stored: [rule, result, value, base, args, parameter], the parameter
        as [file, key, since, source, when], trailing defaults left out. `from_stored`
        makes the same step again, so its words and `to_dict()` read as at settlement."""
        rule, amount, ref, value, base, args = self
        result = str(amount)
        if ref is not None:
            stored_ref = [ref.file, ref.key, ref.since_text, ref.source, ref.when]
            return [rule, result, value, _text(base), dict(args), stored_ref]
        # The trailing defaults left out: args, base, value, as far as they are defaults.
        if args:
            return [rule, result, value, _text(base), dict(args)]
        if base is not None:
            return [rule, result, value, str(base)]
        if value:
            return [rule, result, value]
        return [rule, result]

    @classmethod
    def from_stored(cls, data: list[Any]) -> Step:
        defaults: list[Any] = ["", "0", "", None, {}, None]
        rule, result, value, base, args, ref = [*data, *defaults[len(data) :]]
        return cls(
            rule=rule,
            result=Decimal(result),
            ref=None
            if ref is None
            else Ref(ref[0], ref[1], date.fromisoformat(ref[2]), ref[3], ref[4]),
            value=value,
            base=None if base is None else Decimal(base),
            args=args,
        )


# tuple.__new__ of Step and its six values in order: the steps every bill makes are made
# so, without the Python call of the named tuple's own __new__ (twice the cost).
new_step = tuple.__new__


def stored_steps(steps: Iterable[Step]) -> list[list[Any]]:
    """An explanation as it is stored (a settlement's row, an idempotency key's answer)."""
    return [step.stored() for step in steps]


def stored_and_shown(steps: Iterable[Step]) -> tuple[list[list[Any]], list[dict[str, Any]]]:
    """An explanation as it is stored and as it is shown (`Step.forms`)."""
    stored, shown = [], []
    for step in steps:
        one, other = step.forms()
        stored.append(one)
        shown.append(other)
    return stored, shown


def read_steps(stored: Iterable[Any]) -> list[dict[str, Any]]:
    """A stored explanation as every page and API shows it (`Step.to_dict()`, its words in
    both languages): a step stored as data is put into words now; one stored with its
    words (a row written before, a batch load's) is shown as it was stored."""
    return [step if isinstance(step, dict) else Step.from_stored(step).to_dict() for step in stored]
