"""A settlement (or a quote) as the national interface reports it: `setlinfo` with every
amount of the mapping table, and `setldetail` per fund.

The identities a hospital reconciles on hold by construction, to the fen:
    medfee_sumamt   = fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt
    fund_pay_sumamt = hifp_pay + hifmi_pay + maf_pay
    psn_part_amt    = medfee_sumamt − fund_pay_sumamt − hosp_part_amt
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from yibao.domain.money import ZERO, round_fen
from yibao.fsi.codes import FUND_ASSISTANCE, FUND_BASIC

NIL = Decimal("0.00")
RATIO = Decimal("0.0001")

# The amounts of setlinfo, in the order the interface lists them.
AMOUNTS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "cvlserv_pay",
    "hifes_pay",
    "hifmi_pay",
    "hifob_pay",
    "maf_pay",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "psn_cash_pay",
    "hosp_part_amt",
    "balc",
    "acct_mulaid_pay",
)


def money(text: str | Decimal) -> Decimal:
    return round_fen(Decimal(text))


def amounts(view: dict[str, Any]) -> dict[str, Decimal]:
    """The amounts of a yibao settlement view (a settlement or a quote)."""
    total = money(view["total"])
    self_pay = money(view["self_pay"])
    eligible = money(view["eligible"])
    first = money(view["first_self_pay"])
    threshold = money(view["threshold"])
    return split_amounts(
        total,
        self_pay,
        money(view["over_limit"]),
        first,
        eligible,
        threshold,
        money(view["basic"]),
        money(view["assistance"]),
        money(view["institution"]),
        money(view["personal"]),
    )


def split_amounts(
    total: Decimal,
    self_pay: Decimal,
    over_limit: Decimal,
    first_self_pay: Decimal,
    eligible: Decimal,
    threshold: Decimal,
    basic: Decimal,
    assistance: Decimal,
    institution: Decimal,
    personal: Decimal,
) -> dict[str, Decimal]:
    serious_illness = NIL  # the yearly layer pays the person after the year, not per bill
    fund = basic + serious_illness + assistance
    out: dict[str, Decimal] = dict.fromkeys(AMOUNTS, NIL)
    out.update(
        medfee_sumamt=total,
        fulamt_ownpay_amt=self_pay,
        overlmt_selfpay=over_limit,
        preselfpay_amt=first_self_pay,
        inscp_scp_amt=eligible,
        act_pay_dedc=threshold,
        hifp_pay=basic,
        pool_prop_selfpay=pool_ratio(eligible, threshold, basic),
        hifmi_pay=serious_illness,
        maf_pay=assistance,
        fund_pay_sumamt=fund,
        psn_part_amt=personal,
        psn_cash_pay=personal,
        hosp_part_amt=institution,
    )
    return out


def pool_ratio(eligible: Decimal, threshold: Decimal, basic: Decimal) -> Decimal:
    """pool_prop_selfpay as clients read it: a ratio, the basic fund's share of what is
    within scope above the threshold (4 places; 0 when nothing is above the threshold)."""
    base = eligible - threshold
    if base <= ZERO:
        return Decimal("0.0000")
    return min(basic / base, Decimal(1)).quantize(RATIO)


def setldetail(insutype: str, a: dict[str, Decimal]) -> list[dict[str, Any]]:
    code, name = FUND_BASIC.get(insutype, ("390100", "城乡居民基本医疗保险基金"))
    out = [
        {
            "fund_pay_type": code,
            "fund_pay_type_name": name,
            "inscp_scp_amt": a["inscp_scp_amt"],
            "crt_payb_lmt_amt": NIL,
            "fund_payamt": a["hifp_pay"],
            "setl_proc_info": "",
        }
    ]
    if a["maf_pay"]:
        out.append(
            {
                "fund_pay_type": FUND_ASSISTANCE[0],
                "fund_pay_type_name": FUND_ASSISTANCE[1],
                "inscp_scp_amt": a["inscp_scp_amt"],
                "crt_payb_lmt_amt": NIL,
                "fund_payamt": a["maf_pay"],
                "setl_proc_info": "",
            }
        )
    return out


def arithmetic_problems(s: dict[str, Any]) -> list[str]:
    """What does not add up in a setlinfo (empty when the identities hold to the fen)."""
    d = {k: Decimal(str(s[k])) for k in AMOUNTS if k in s}
    problems = []
    parts = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
    if d["medfee_sumamt"] != sum((d.get(k, ZERO) for k in parts), ZERO):
        problems.append("medfee_sumamt ≠ " + " + ".join(parts))
    if d["fund_pay_sumamt"] != d["hifp_pay"] + d["hifmi_pay"] + d["maf_pay"]:
        problems.append("fund_pay_sumamt ≠ hifp_pay + hifmi_pay + maf_pay")
    if d["psn_part_amt"] != d["medfee_sumamt"] - d["fund_pay_sumamt"] - d["hosp_part_amt"]:
        problems.append("psn_part_amt ≠ medfee_sumamt − fund_pay_sumamt − hosp_part_amt")
    for k, v in d.items():
        if v != round_fen(v):
            problems.append(f"{k} is not to the fen")
    return problems
