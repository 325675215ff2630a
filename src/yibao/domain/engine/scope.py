"""Before any rate: is the bill refused, is it in scope, what is eligible, where was it treated."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from yibao.domain.conditions import Facts
from yibao.domain.engine.lines import line_parts
from yibao.domain.engine.results import LineResult, Refusal, RefusalCode
from yibao.domain.explain import HOW_ZH, Step
from yibao.domain.frozen import fast_init
from yibao.domain.model import EMERGENCY, PHARMACY, SPECIAL_OUTPATIENT, Encounter, Person
from yibao.domain.money import ONE, ZERO, fmt_points, fmt_rate
from yibao.domain.parameters import (
    Param,
    Reduction,
    ReductionMethod,
    Ref,
    RegionPolicy,
    SchemeRules,
    Text,
)


def refusal_for(
    policy: RegionPolicy, person: Person, enc: Encounter, facts: Facts | None = None
) -> tuple[Refusal, Step] | None:
    """The reasons a whole bill is refused, in the order a clerk checks them."""
    offered = policy.offered.at(enc.date, facts)
    if person.scheme not in offered.value:
        reason = policy.not_offered_reason
        return _refuse(
            RefusalCode.SCHEME_NOT_OFFERED,
            reason,
            enc,
            offered.ref,
            ", ".join(sorted(offered.value)),
        )
    rules = policy.schemes[person.scheme]
    if person.retired and rules.retiree_min_contribution_years is not None:
        need = rules.retiree_min_contribution_years.at(enc.date, facts)
        have = person.contribution_years or 0
        if have < need.value:
            reason = Text(
                zh=f"退休人员缴费年限{have}年，不足{need.value}年，不能享受退休后医保待遇",
                en=f"a retiree needs {need.value} contribution years to enjoy benefits "
                f"without further contributions, and has {have}",
            )
            return _refuse(RefusalCode.CONTRIBUTION_YEARS, reason, enc, need.ref, str(need.value))
    if enc.kind is SPECIAL_OUTPATIENT:
        return _special_refusal(rules, person, enc, facts)
    return None


def _special_refusal(
    rules: SchemeRules, person: Person, enc: Encounter, facts: Facts | None
) -> tuple[Refusal, Step] | None:
    special = rules.special_outpatient
    if special is None:
        reason = Text(
            zh="本险种不设门诊特殊疾病待遇", en="this scheme has no outpatient special diseases"
        )
        return _refuse(RefusalCode.SPECIAL_NOT_OFFERED, reason, enc, None, "")
    diseases = special.diseases.at(enc.date, facts)
    if enc.disease not in diseases.value:
        reason = Text(
            zh=f"{enc.disease}不是门诊特殊疾病病种",
            en=f"{enc.disease} is not an outpatient special disease",
        )
        return _refuse(
            RefusalCode.SPECIAL_UNKNOWN_DISEASE,
            reason,
            enc,
            diseases.ref,
            ", ".join(sorted(diseases.value)),
        )
    approvals = [a for a in person.approvals if a.disease == enc.disease and a.covers(enc.date)]
    if not approvals:
        reason = Text(
            zh=f"无{enc.disease}门诊特殊疾病审批备案",
            en=f"no approved special-disease record for {enc.disease}",
        )
        return _refuse(RefusalCode.SPECIAL_NO_APPROVAL, reason, enc, None, "")
    if all(a.hospital != enc.hospital.id for a in approvals):
        named = ", ".join(a.hospital for a in approvals)
        reason = Text(
            zh=f"门诊特殊疾病只能在审批指定的医院（{named}）就医",
            en=f"a special disease is treated only at the hospital named in the approval ({named})",
        )
        return _refuse(RefusalCode.SPECIAL_WRONG_HOSPITAL, reason, enc, None, "")
    return None


def _refuse(
    code: RefusalCode, reason: Text, enc: Encounter, ref: Ref | None, value: str
) -> tuple[Refusal, Step]:
    step = Step(
        "refused",
        result=enc.total,
        ref=ref,
        value=value,
        base=enc.total,
        args={"reason": reason.en, "reason_zh": reason.zh},
    )
    return Refusal(code, reason), step


def out_of_scope(enc: Encounter) -> Step | None:
    """A bill outside the insurance altogether: all personal, but not a refusal."""
    if not enc.hospital.designated and enc.kind is not EMERGENCY:
        return Step("not_designated", enc.total, base=enc.total, args={"hospital": enc.hospital.id})
    if enc.kind is PHARMACY and not enc.prescription:
        return Step("no_prescription", enc.total, base=enc.total)
    return None


def eligible_cost(
    policy: RegionPolicy, enc: Encounter, facts: Facts | None = None
) -> tuple[Decimal, tuple[LineResult, ...], list[Step]]:
    """Eligible cost (exact) and each line's parts (the catalogue step, lines.py)."""
    lines, steps = line_parts(policy, enc, facts)
    eligible = ZERO  # sum(..., ZERO)'s additions, in its order, without the list and the call
    for ln in lines:
        eligible += ln.eligible
    if not enc.hospital.designated:  # only an emergency gets this far
        steps.insert(0, Step("emergency_anywhere", ZERO, args={"hospital": enc.hospital.id}))
    return eligible, lines, steps


@fast_init
@dataclass(frozen=True)
class Place:
    """Treatment elsewhere and what it takes off: `points` off every rate, `share` off the payment."""

    points: Decimal = ZERO
    share: Decimal = ZERO
    how: str = "local"  # local | filed | referral | emergency | unfiled

    @property
    def keep(self) -> Decimal:
        return ONE - self.share


# Treatment at home or under a filing takes nothing off (most bills: one value each).
LOCAL = Place(how="local")
FILED = Place(how="filed")


def place_class(person: Person, enc: Encounter) -> tuple[str, Step | None]:
    """Where the bill was treated: local, filed, referral, emergency or unfiled (with the
    filing's step when a filing applies)."""
    region = enc.hospital.region or person.region
    if region == person.region:
        return "local", None
    # An emergency is settled by the emergency rule even when the person also holds a
    # filing or a referral certificate (reference §6): a certificate never turns an
    # emergency into something else.
    emergency = enc.kind is EMERGENCY
    for filing in () if emergency else person.filings:
        if filing.covers(region, enc.date):
            step = Step(
                "filed",
                ZERO,
                args={
                    "region": region,
                    "start": filing.valid_from.isoformat(),
                    "end": filing.valid_to.isoformat(),
                },
            )
            return "filed", step
    return ("emergency" if emergency else "referral" if enc.referral else "unfiled"), None


def place_of(
    policy: RegionPolicy, person: Person, enc: Encounter, how: str, facts: Facts | None
) -> tuple[Place, Step | None]:
    """What treatment elsewhere takes off (the region's reduction for the place class)."""
    if how == "local":
        return LOCAL, None
    if how == "filed":
        return FILED, None
    region = enc.hospital.region or person.region
    reduction = policy.reduction.at(enc.date, facts)
    # The place and its step are the reduction's, the place class's and the region's
    # alone: made once for each, kept on the reduction's (frozen) Param, as a Ref keeps
    # its citation (both are frozen: every bill treated so cites the same step).
    kept: dict[tuple[str, str], tuple[Place, Step]] | None = reduction.__dict__.get("_places")
    if kept is None:
        kept = reduction.__dict__["_places"] = {}
    made = kept.get((how, region))
    if made is None:
        if len(kept) >= 10_000:  # regions of bills: never an unbounded memory
            kept.clear()
        made = kept[(how, region)] = _elsewhere(reduction, how, region)
    return made


def _elsewhere(reduction: Param[Reduction], how: str, region: str) -> tuple[Place, Step]:
    amount: Decimal = getattr(reduction.value, how)
    if reduction.value.method is ReductionMethod.POINTS:
        place = Place(points=amount, how=how)
        method = f"every fund rate is lowered by {fmt_points(amount)}"
        method_zh = f"各项基金支付比例降低{(amount * 100).normalize():f}个百分点"
    else:
        place = Place(share=amount, how=how)
        method = f"the fund's payment is reduced by {fmt_rate(amount)}"
        method_zh = f"基金支付降低{fmt_rate(amount)}"
    if amount == ZERO:
        method, method_zh = "local rates apply", "按参保地标准结算"
    step = Step(
        "elsewhere",
        ZERO,
        ref=reduction.ref,
        value=fmt_rate(amount),
        args={
            "region": region,
            "how": how,
            "how_zh": HOW_ZH[how],
            "method": method,
            "method_zh": method_zh,
        },
    )
    return place, step
