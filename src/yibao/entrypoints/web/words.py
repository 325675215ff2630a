"""How the pages show things to people: amounts with separators and 元, ID numbers
masked, ages, and the family's plain reading of an explanation (the sentences without
the policy-file citations a clerk needs)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from yibao.domain.money import fmt_yuan

# A resident ID number (18 characters, the last may be X) or a registry id made from it.
_ID_NUMBER = re.compile(r"\d{17}[\dXx]")


def yuan(amount: object, lang: str) -> str:
    """ "1,234.50元" in Chinese, "1,234.50 yuan" in English; anything that is not an
    amount is shown as it is."""
    try:
        value = Decimal(str(amount).replace(",", ""))
    except (InvalidOperation, ValueError):
        return str(amount)
    text = fmt_yuan(value)
    return f"{text}元" if lang == "zh" else f"{text} yuan"


def separated(amounts: Mapping[str, str]) -> dict[str, str]:
    """Amounts inside a sentence with thousands separators ("40,000.00")."""
    found = {}
    for key, value in amounts.items():
        try:
            found[key] = fmt_yuan(Decimal(value))
        except (InvalidOperation, ValueError):
            found[key] = value
    return found


def mask_id(number: str | None) -> str:
    """The first 4 and last 4 characters of an ID number, the rest as asterisks: enough to
    tell two persons apart, not enough to use the number."""
    if not number:
        return ""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_ids_in(text: str) -> str:
    """Every ID number inside a text masked (an account named by its ID number)."""
    return _ID_NUMBER.sub(lambda m: mask_id(m.group(0)), text)


def age_on(birth: date | str | None, today: date) -> int | None:
    if birth is None or birth == "":
        return None
    born = birth if isinstance(birth, date) else date.fromisoformat(str(birth))
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def plain_step(
    step: Mapping[str, Any],
    lang: str,
    regions: Mapping[str, str] | None = None,
    hospitals: Mapping[str, str] | None = None,
    a_hospital: str = "",
) -> str:
    """A step's sentence for a family: the citation of the policy file and key (and
    whether the number is the text's or the region's) left out, and the region and the
    hospital it names by their names (`regions`, `hospitals`: code -> name), not their
    codes; a claim's hospital without a registry id (`claim-N`) as `a_hospital`."""
    texts = step.get("text") or {}
    sentence = str(texts.get(lang) or texts.get("zh") or "")
    parameter = step.get("parameter")
    if parameter:
        cut = sentence.rfind(f" [{parameter['file']}: {parameter['key']}")
        if cut >= 0:
            sentence = sentence[:cut]
    args = step.get("args") or {}
    region = str(args.get("region") or "")
    if region and regions and region in regions:
        sentence = sentence.replace(region, regions[region])
    hospital = str(args.get("hospital") or "")
    name = (hospitals or {}).get(hospital) or (a_hospital if hospital.startswith("claim-") else "")
    if hospital and name:
        sentence = sentence.replace(hospital, name, 1)
        sentence = sentence[:1].upper() + sentence[1:]
    return sentence


def citation(step: Mapping[str, Any]) -> dict[str, str] | None:
    """What a clerk reads beside a step: the parameter (file and key), since when, and
    its source note."""
    parameter = step.get("parameter")
    if not parameter:
        return None
    return {
        "parameter": f"{parameter['file']}: {parameter['key']}",
        "since": str(parameter.get("since", "")),
        "source": str(parameter.get("source", "")),
    }


def family_summary(s: Mapping[str, Any], lang: str) -> str:
    """A stored settlement in a few plain sentences with its amounts (the engine's
    summary, made from the stored split): what it cost, what the fund and the others
    paid, what the family paid."""
    y = {k: yuan(s.get(k, "0"), lang) for k in ("total", "eligible", "threshold", "basic")}
    y |= {k: yuan(s.get(k, "0"), lang) for k in ("assistance", "institution", "personal")}
    paid = {k: Decimal(str(s.get(k, "0"))) > 0 for k in ("threshold", "basic", "assistance")}
    paid["institution"] = Decimal(str(s.get("institution", "0"))) > 0
    refused = s.get("refused")
    if lang == "zh":
        if refused:
            reason = refused.get("zh") or refused.get("reason_zh") or ""
            return f"本次费用{y['total']}不予报销：{reason}。您需支付全部{y['total']}。"
        parts = [f"本次费用合计{y['total']}，其中医保范围内{y['eligible']}。"]
        parts += [f"起付线{y['threshold']}由您支付。"] if paid["threshold"] else []
        parts += [f"基本医保基金支付{y['basic']}。"] if paid["basic"] else []
        parts += [f"医疗救助支付{y['assistance']}。"] if paid["assistance"] else []
        parts += [f"医院承担{y['institution']}。"] if paid["institution"] else []
        return "".join([*parts, f"您支付{y['personal']}。"])
    if refused:
        reason = refused.get("en") or refused.get("reason_en") or ""
        return f"This bill of {y['total']} is not covered: {reason}. You pay all {y['total']}."
    parts = [f"The bill was {y['total']}; {y['eligible']} of it is covered by the catalogues."]
    parts += [f"You pay the threshold of {y['threshold']}."] if paid["threshold"] else []
    parts += [f"The insurance fund paid {y['basic']}."] if paid["basic"] else []
    parts += [f"Medical assistance paid {y['assistance']}."] if paid["assistance"] else []
    parts += [f"The hospital bore {y['institution']}."] if paid["institution"] else []
    return " ".join([*parts, f"You paid {y['personal']}."])
