"""The catalogue step: each bill line's parts (reference §1, §1a).

Per line: `amount = over-limit self-pay + full self-pay + first self-pay + eligible`.

- Over-limit self-pay (超限价自费): the part of the unit price above the item's cap, times
  the quantity, half-up to the fen. A price at or below the cap is taken as billed.
- Full self-pay (全自费): the rest of a line outside the catalogues (a class whose
  eligible share is 0) or outside the item's payment restriction.
- First self-pay (先行自付): the rest times the item's ratio, or the region's default for
  its class (1 − the class's eligible share); exact.
- Eligible (符合范围): what remains; exact.

Plain lines (an amount of a class) are explained by class, as bills always were; lines
that carry catalogue facts are explained one by one, citing the catalogue entry.
"""

from __future__ import annotations

from decimal import Decimal

from yibao.domain.conditions import Facts
from yibao.domain.engine.results import LineResult
from yibao.domain.explain import CLASS_ZH, Step, new_step
from yibao.domain.model import Encounter, Line
from yibao.domain.money import FEN, ZERO, fmt, fmt_rate, quantize, round_fen
from yibao.domain.parameters import Param, RegionPolicy, rest_of


def over_limit(line: Line) -> Decimal:
    """(unit price − cap) × quantity, half-up to the fen; 0 at or below the cap."""
    if line.cap is None or line.unit_price is None or line.quantity is None:
        return ZERO
    if line.unit_price <= line.cap:
        return ZERO
    return round_fen((line.unit_price - line.cap) * line.quantity)


def all_self_paid(enc: Encounter) -> tuple[LineResult, ...]:
    """A refused or out-of-scope bill: each line's over-limit part as its price makes it,
    and the rest full self-pay; nothing eligible."""
    out = []
    for line in enc.lines:
        over = over_limit(line)
        out.append(LineResult(line.amount, over, line.amount - over, ZERO, ZERO, cap=line.cap))
    return tuple(out)


def line_parts(
    policy: RegionPolicy, enc: Encounter, facts: Facts | None = None
) -> tuple[tuple[LineResult, ...], list[Step]]:
    """Each line's parts, and the steps that explain them."""
    results: list[LineResult] = []
    steps: list[Step] = []
    by_class: dict[str, Decimal] = {}
    day, shares = enc.date, policy.eligible_share
    for no, line in enumerate(enc.lines, start=1):
        cls = str(line.cls)  # its value (a StrEnum), without the cost of Enum.value
        share = shares[cls].at(day, facts)
        result, rest = _parts(line, share.value)
        results.append(result)
        if line.quantity is not None or line.itemised:  # an item's quantity: no call
            steps.extend(_line_steps(no, line, cls, result, share, rest))
        else:
            by_class[cls] = by_class.get(cls, ZERO) + line.amount
    if by_class:  # plain lines, explained by class before the items
        steps[:0] = _class_steps(policy, enc, by_class, facts)
    return tuple(results), steps


def _parts(line: Line, share: Decimal) -> tuple[LineResult, Decimal]:
    """A line's parts, and what is left of it within its cap (amount − over-limit)."""
    amount, cap = line.amount, line.cap
    over = ZERO
    if cap is not None:  # over_limit(line), without its call
        price, quantity = line.unit_price, line.quantity
        if price is not None and quantity is not None and price > cap:
            over = quantize((price - cap) * quantity, FEN)
    rest = amount - over
    restricted = line.outside_restriction
    if restricted or not share:  # `not share`: share == ZERO
        return LineResult(amount, over, rest, ZERO, ZERO, None, cap, restricted), rest
    ratio = line.ratio
    if ratio is None:
        ratio = rest_of(share)  # made once a share
    first = rest * ratio
    return LineResult(amount, over, ZERO, first, rest - first, ratio, cap, False), rest


def _class_steps(
    policy: RegionPolicy, enc: Encounter, by_class: dict[str, Decimal], facts: Facts | None
) -> list[Step]:
    """Plain lines, by class: the class's eligible share of their sum."""
    steps = []
    for cls in sorted(by_class):
        amount = by_class[cls]
        share = policy.eligible_share[cls].at(enc.date, facts)
        steps.append(
            Step(
                "eligible_share",
                amount * share.value,
                ref=share.ref,
                value=fmt_rate(share.value),
                base=amount,
                args={"cls": cls, "cls_zh": CLASS_ZH.get(cls, cls)},
            )
        )
    return steps


def _over_limit_step(line: Line, r: LineResult, label: dict[str, str]) -> Step:
    assert line.cap is not None
    assert line.unit_price is not None
    assert line.quantity is not None
    return Step(
        "line_over_limit",
        r.over_limit,
        ref=line.entry,
        value=fmt(line.cap),
        base=line.amount,
        args={**label, "price": fmt(line.unit_price), "quantity": f"{line.quantity:f}"},
    )


# A line's words by (its number, name, code, class): made once, copied for each step
# (an item's words are the same on every bill that has it at that place on the bill).
_Label = tuple[dict[str, str], dict[str, str], dict[str, str]]
_LABELS: dict[tuple[int, str | None, str | None, str], _Label] = {}


def _labels(no: int, line: Line, cls: str) -> _Label:
    """The line's label, and the first self-pay step's args (the item's own ratio, the
    region's default) with its "first" still to fill in."""
    key = (no, line.name, line.code, cls)
    kept = _LABELS.get(key)
    if kept is None:
        code_zh = f" {line.code}" if line.code else ""
        label = {
            "no": str(no),
            # The item's name is the catalogue's Chinese one, as on the hospital's receipt:
            # the English sentence shows it too, the code beside it.
            "item": f" {line.name} ({line.code})" if line.name and line.code else code_zh,
            "item_zh": f" {line.name}（{line.code}）" if line.name and line.code else code_zh,
            "cls": cls,
            "cls_zh": CLASS_ZH.get(cls, cls),
        }
        own = {**label, "first": "", "whose": "the item's own", "whose_zh": "目录规定"}
        default = {**label, "first": "", "whose": "the region's default", "whose_zh": "本地区默认"}
        kept = (label, own, default)
        if len(_LABELS) >= 10_000:  # items of bills: never an unbounded memory
            _LABELS.clear()
        _LABELS[key] = kept
    return kept


def _line_steps(
    no: int, line: Line, cls: str, r: LineResult, share: Param[Decimal], rest: Decimal
) -> list[Step]:
    """A catalogue item's parts, each citing the catalogue entry it came from."""
    label, own_args, default_args = _labels(no, line, cls)
    ref = line.entry
    steps = [] if not r.over_limit else [_over_limit_step(line, r, label)]
    if r.restricted:
        words = line.restriction
        steps.append(
            Step(
                "line_restricted",
                r.full_self_pay,
                ref=ref,
                base=rest,
                args={
                    **label,
                    "restriction": f" ({words.en})" if words else "",
                    "restriction_zh": f"（{words.zh}）" if words else "",
                },
            )
        )
    elif r.ratio is None:
        steps.append(
            Step("line_self_pay", r.full_self_pay, ref=ref or share.ref, base=rest, args=label)
        )
    else:  # most lines: the Step made as a tuple (explain.new_step)
        own = line.ratio is not None
        args = (own_args if own else default_args).copy()  # this step's own: it is handed out
        args["first"] = fmt(r.first_self_pay)
        cited = ref or (None if own else share.ref)
        made = ("line_first_self_pay", r.eligible, cited, fmt_rate(r.ratio), rest, args)
        steps.append(new_step(Step, made))
    return steps
