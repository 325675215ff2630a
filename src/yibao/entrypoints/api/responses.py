"""Response shapes, for the OpenAPI document and to keep answers to their word.

Amounts are strings with two decimals ("21000.00"); explanations are lists of steps,
each citing the policy parameter it used.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Amount = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", examples=["21000.00"])]


class Bilingual(BaseModel):
    zh: str
    en: str


class ParameterRef(BaseModel):
    file: str = Field(examples=["sample-city/student.yaml"])
    key: str = Field(examples=["inpatient.rate"])
    since: str = Field(examples=["2024-01-01"])
    source: str = Field(examples=["[text] §2: segments of the year's accumulated pooled cost"])


class StepOut(BaseModel):
    rule: str = Field(examples=["segment"], description="Which rule moved money")
    parameter: ParameterRef | None
    value: str = Field(examples=["70%"], description="The parameter's value as used")
    base: str | None = Field(examples=["30000"], description="The amount it applied to (exact)")
    result: str = Field(examples=["21000.00"], description="What it produced (exact)")
    args: dict[str, str]
    text: Bilingual


class RefusalOut(BaseModel):
    code: str = Field(examples=["contribution_years"])
    reason: Bilingual


SETTLEMENT_EXAMPLE: dict[str, Any] = {
    "id": 1,
    "person_id": "SC-000003",
    "year": 2026,
    "seq": 1,
    "institution_id": "H3-001",
    "date": "2026-03-02",
    "kind": "inpatient",
    "scheme": "student",
    "route": "inpatient",
    "referral": False,
    "total": "30500.00",
    "eligible": "30500.00",
    "over_limit": "0.00",
    "self_pay": "0.00",
    "first_self_pay": "0.00",
    "threshold": "500.00",
    "basic": "21000.00",
    "assistance": "0.00",
    "institution": "0.00",
    "personal": "9500.00",
    "insured_pays": "9500.00",
    "fund_owes_institution": "21000.00",
    "refused": None,
    "summary": {
        "zh": "本次费用合计30,500.00元，其中医保范围内30,500.00元。起付线500.00元由您支付。基本医保基金支付21,000.00元。您需支付9,500.00元。",
        "en": "Your bill is 30,500.00 yuan; 30,500.00 of it is covered by the catalogues. You pay the threshold of "
        "500.00. The insurance fund pays 21,000.00. You pay 9,500.00 yuan.",
    },
    "explanation": [],
    "status": "settled",
}


class LineOut(BaseModel):
    """A bill line and its four parts (reference §1a): amount = over_limit + full_self_pay
    + first_self_pay + eligible (the last two exact in `*_exact`)."""

    line_no: int
    code: str | None = Field(description="As billed: the institution's own code or a national one")
    national_code: str | None = Field(
        description="The catalogue code it stands for (med_list_codg)"
    )
    name: str | None
    cls: str = Field(description="A, B or self_pay (chrgitm_lv 01, 02, 03)")
    quantity: str
    unit_price: str = Field(description="As billed (pric)")
    amount: Amount = Field(
        description="quantity × unit price, half-up to the fen (det_item_fee_sumamt)"
    )
    over_limit: Amount = Field(description="Above the price cap (overlmt_amt)")
    full_self_pay: Amount = Field(
        description="Outside the catalogues or the restriction (fulamt_ownpay_amt)"
    )
    first_self_pay: Amount = Field(description="First self-pay (preselfpay_amt), rounded")
    eligible: Amount = Field(description="Within the catalogue (inscp_scp_amt), rounded")
    first_self_pay_exact: str
    eligible_exact: str
    cap: str | None = Field(description="The price cap applied (pric_uplmt_amt); null: none")
    ratio: str | None = Field(description="The first self-pay ratio applied (selfpay_prop)")
    restricted: bool = Field(description="Outside its payment restriction (lmt_used_flag)")
    entry_id: int | None = Field(description="The dated catalogue entry applied")


class SettlementOut(BaseModel):
    """A settlement (or a quote: `id` and `seq` null, `status` "quote")."""

    model_config = ConfigDict(json_schema_extra={"examples": [SETTLEMENT_EXAMPLE]})

    id: int | None
    person_id: str
    year: int
    seq: int | None
    institution_id: str | None
    date: str
    kind: str
    scheme: str
    route: str = Field(
        description="inpatient, outpatient, special_outpatient, child_major_disease, refused, out_of_scope"
    )
    referral: bool
    total: Amount
    eligible: Amount = Field(description="Within the catalogues (national inscp_scp_amt)")
    over_limit: Amount = Field(description="Above the items' price caps (overlmt_selfpay)")
    self_pay: Amount = Field(description="Wholly self-paid (fulamt_ownpay_amt)")
    first_self_pay: Amount = Field(
        description="First self-pay (preselfpay_amt): with over_limit, self_pay and eligible "
        "it adds up to the total"
    )
    threshold: Amount = Field(description="Threshold charged by this bill (act_pay_dedc)")
    basic: Amount = Field(description="The basic fund's payment (hifp_pay)")
    assistance: Amount = Field(description="Medical assistance (maf_pay)")
    institution: Amount = Field(description="Borne by the institution (hosp_part_amt)")
    personal: Amount = Field(description="The person's share (psn_part_amt)")
    insured_pays: Amount
    fund_owes_institution: Amount
    refused: RefusalOut | None = None
    summary: Bilingual
    lines: list[LineOut] = Field(default_factory=list)
    explanation: list[StepOut]
    status: str
    cause: str = Field(default="ordinary", description="ordinary or accident, as sent")
    delivery: str | None = Field(default=None, description="natural or caesarean, as sent")
    referred_from: int | None = Field(
        default=None, description="The settlement of the stay it was referred from, as sent"
    )


class SettlementReferralOut(BaseModel):
    """A referral certificate whose episode holds the settlement, by the same rule as the
    certificate's own `stays` (GET /v1/referrals/{id}), read when asked."""

    id: int = Field(description="The certificate (GET /v1/referrals/{id})")
    role: str = Field(
        examples=["referred_to"],
        description="referred_from: the stay the certificate was issued at; referred_to: a"
        " settled stay at the hospital referred to within the certificate's dates",
    )
    issued_by: str = Field(description="The hospital that issued it (its code)")
    issued_by_name: str
    to_region: str
    to_region_name: Bilingual
    to_institution: str | None = Field(
        description="The hospital referred to (its code), when the certificate names one"
    )
    to_institution_name: str | None
    valid_from: str = Field(examples=["2026-05-01"])
    valid_to: str = Field(examples=["2026-06-30"])


class StoredSettlementOut(BaseModel):
    """A stored settlement as it stands now (after any adjustment)."""

    id: int
    seq: int
    channel: str = Field(description="card, or claim (manual reimbursement)")
    institution_id: str
    date: str
    kind: str
    route: str
    status: str = Field(description="settled or reversed")
    total: Amount
    eligible: Amount
    basic: Amount
    assistance: Amount
    institution: Amount
    personal: Amount
    threshold: Amount = Field(description="Threshold charged, as it stands now (act_pay_dedc)")
    refused: dict[str, Any] | None
    explanation: list[StepOut]
    cause: str = "ordinary"
    delivery: str | None = None
    referred_from: int | None = None
    referrals: list[SettlementReferralOut] = Field(
        default_factory=list,
        description="The referral certificates that name this stay (usually none or one)",
    )


class SplitOut(BaseModel):
    basic: Amount
    assistance: Amount
    institution: Amount
    personal: Amount
    threshold: Amount


class AdjustmentOut(BaseModel):
    settlement_id: int
    before: SplitOut
    after: SplitOut
    difference: SplitOut


class ReversalOut(BaseModel):
    reversal_id: int
    settlement_id: int
    reason: str
    reversed: SplitOut
    adjustments: list[AdjustmentOut] = Field(
        description="Later settlements of the year whose split changed"
    )


class ClaimHospitalOut(BaseModel):
    id: str | None
    name: str
    level: int
    region: str
    designated: bool
    type: str = Field(default="general", description="general or tcm")
    province: str = Field(default="same", description="same or other (the insured's)")


class ChainStayOut(BaseModel):
    """A stay of a claim's referral chain, nearest first."""

    settlement_id: int
    date: str
    hospital: str = Field(description="The hospital's name (a claim's: as the family wrote it)")
    level: int
    type: str = Field(description="general or tcm")
    channel: str = Field(description="card, or claim")
    status: str = Field(description="settled or reversed")
    threshold: Amount = Field(description="The threshold it charged, as it stands now")


class ClaimOut(BaseModel):
    id: int
    person_id: str
    reason: str
    kind: str
    date: str
    hospital: ClaimHospitalOut
    diagnosis: str | None
    cause: str = Field(default="ordinary", description="ordinary or accident")
    delivery: str | None = None
    referred_from: int | None = Field(
        default=None, description="The settlement of the stay it was referred from"
    )
    chain: list[ChainStayOut] = Field(
        default_factory=list,
        description="The stays it was referred along, nearest first (one claim's answer)",
    )
    lines: list[dict[str, str]]
    receipts: list[str]
    total: Amount
    status: str = Field(description="submitted, approved, rejected or paid")
    settlement_id: int | None
    reviewer: str | None
    rejection_reason: str | None
    proposal: SettlementOut | None = Field(
        default=None, description="The engine's split, while submitted"
    )
    settlement: SettlementOut | None = Field(
        default=None, description="On approval: the booked settlement"
    )


class LimitOut(BaseModel):
    name: str = Field(examples=["outpatient_fund"])
    limit: Amount
    used: Amount
    remaining: Amount
    parameter: str


class SeriousIllnessOut(BaseModel):
    base: Amount
    payment_so_far: Amount
    settled: Amount | None
    explanation: list[StepOut]


class PersonYearOut(BaseModel):
    person_id: str
    year: int
    scheme: str
    settlements: list[StoredSettlementOut]
    accumulators: dict[str, Any]
    limits: list[LimitOut]
    serious_illness: SeriousIllnessOut


class StatementLineOut(BaseModel):
    scheme: str
    layer: str
    amount: Amount


class StatementOut(BaseModel):
    institution_id: str
    month: str
    lines: list[StatementLineOut]
    total: Amount
