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
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from string import Formatter
from typing import Any

from yibao.domain.frozen import fast_init
from yibao.domain.money import fmt_yuan
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


# The names a rule's sentences take that a step may leave out ("cls_en", "scheme_name"):
# made for the rules that name them, and only for those.
_NAMED: dict[str, frozenset[str]] = {
    rule: frozenset(
        name
        for sentence in texts.values()
        for _, name, _, _ in Formatter().parse(sentence)
        if name in ("cls_en", "scheme_name")
    )
    for rule, texts in MESSAGES.items()
}


Sentence = Callable[[Mapping[str, str]], str]


def _compiled(template: str) -> Sentence:
    """`template.format_map` as an f-string of the same text: a step's two sentences cost
    five times less (str.format parses its template on every call). A template with a
    format spec, a conversion or a name that is not an identifier stays format_map."""
    pieces: list[str] = []
    names: list[str] = []
    for literal, name, spec, conversion in Formatter().parse(template):
        pieces.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is None:
            continue
        if spec or conversion or not name.isidentifier():
            return template.format_map
        pieces.append(f"{{w[k{len(names)}]}}")  # the name is a default: no quotes inside
        names.append(name)
    keys = "".join(f", k{n}={name!r}" for n, name in enumerate(names))
    made: Sentence = eval(f"lambda w{keys}: f{''.join(pieces)!r}")  # the template's own text
    return made


# Each rule's sentences, made from MESSAGES once (each takes the words format_map took).
SENTENCES: Mapping[str, Mapping[str, Sentence]] = {
    rule: {lang: _compiled(text) for lang, text in texts.items()}
    for rule, texts in MESSAGES.items()
}


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


@fast_init
@dataclass(frozen=True)
class Step:
    rule: str
    result: Decimal
    ref: Ref | None = None
    value: str = ""
    base: Decimal | None = None
    args: Mapping[str, str] = field(default_factory=dict)

    def text(self, lang: str = "en") -> str:
        sentence = SENTENCES[self.rule][lang](self._words())
        if self.ref is not None:
            # The citation names file and key and whether the number is the source text's
            # or the region's own; the full note is in to_dict() and `yibao policy show`.
            return sentence + self.ref.citation
        return sentence

    def _words(self) -> dict[str, str]:
        base = self.base
        words: dict[str, str] = {
            "value": self.value,
            "base": "" if base is None else fmt_yuan(base),
            "result": fmt_yuan(self.result),
            **self.args,
        }
        # The English names of a line class and a scheme, never their codes (only where
        # the rule's sentences name them: most steps' do not).
        named = _NAMED.get(self.rule, ())
        if "cls_en" in named and "cls_en" not in words:
            cls = words.get("cls", "")
            words["cls_en"] = CLASS_EN.get(cls, cls)
        if "scheme_name" in named and "scheme_name" not in words:
            scheme = words.get("scheme", "")
            words["scheme_name"] = SCHEME_EN.get(scheme, scheme)
        return words

    def to_dict(self) -> dict[str, Any]:
        ref = self.ref
        words = self._words()  # made once for the two languages
        sentences = SENTENCES[self.rule]
        en, zh = sentences["en"](words), sentences["zh"](words)
        base = self.base
        if ref is None:
            parameter = None
        else:  # as text() cites it
            cited = ref.citation
            en, zh = en + cited, zh + cited
            parameter = dict(ref.parameter)
        return {
            "rule": self.rule,
            "parameter": parameter,
            "value": self.value,
            "base": None if base is None else str(base),
            "result": str(self.result),
            "args": dict(self.args),
            "text": {"en": en, "zh": zh},
        }

    def forms(self) -> tuple[list[Any], dict[str, Any]]:
        """`stored()` and `to_dict()` at once (a card settlement stores the one and answers
        the other), the amounts' texts and the args' copy made once for both."""
        ref = self.ref
        base = self.base
        result = str(self.result)
        base_text = None if base is None else str(base)
        args = dict(self.args)  # one copy: the stored form is written out as it is made
        words = self._words()
        sentences = SENTENCES[self.rule]
        en, zh = sentences["en"](words), sentences["zh"](words)
        stored: list[Any]
        if ref is None:
            parameter = None
            if args:
                stored = [self.rule, result, self.value, base_text, args]
            elif base_text is not None:
                stored = [self.rule, result, self.value, base_text]
            else:
                stored = [self.rule, result, self.value] if self.value else [self.rule, result]
        else:
            cited = ref.citation
            en, zh = en + cited, zh + cited
            parameter = dict(ref.parameter)
            stored_ref = [ref.file, ref.key, ref.since_text, ref.source, ref.when]
            stored = [self.rule, result, self.value, base_text, args, stored_ref]
        shown = {
            "rule": self.rule,
            "parameter": parameter,
            "value": self.value,
            "base": base_text,
            "result": result,
            "args": args,
            "text": {"en": en, "zh": zh},
        }
        return stored, shown

    def stored(self) -> list[Any]:
        """The step as stored: [rule, result, value, base, args, parameter], the parameter
        as [file, key, since, source, when], trailing defaults left out. `from_stored`
        makes the same step again, so its words and `to_dict()` read as at settlement."""
        ref = self.ref
        base = self.base
        result = str(self.result)
        if ref is not None:
            stored_ref = [ref.file, ref.key, ref.since_text, ref.source, ref.when]
            return [self.rule, result, self.value, _text(base), dict(self.args), stored_ref]
        # The trailing defaults left out: args, base, value, as far as they are defaults.
        if self.args:
            return [self.rule, result, self.value, _text(base), dict(self.args)]
        if base is not None:
            return [self.rule, result, self.value, str(base)]
        if self.value:
            return [self.rule, result, self.value]
        return [self.rule, result]

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
