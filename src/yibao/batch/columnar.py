"""The columnar engine: a whole region-year settled with Polars, to the fen of the scalar one.

The scalar engine (src/yibao/domain/engine) is the specification; each step here names
the function it mirrors. No Python loop runs per encounter or per person: a bill's
parameters come from a join on its (scheme, epoch, level, retired) key (see params.py),
the year's running totals from cumulative sums over each person's bills in the order of
settlement, and the capped totals from `solver.capped_running`.

Exact arithmetic: money in integer fen; eligible cost, thresholds and pooled cost in
fen × 10**places (a class-B line's 90% stays exact); a payment before rounding in
fen × 10**(2·places) (or 3· after a share reduction); every layer is rounded half up to
the fen once, where the scalar engine calls `round_fen`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from yibao.batch import items
from yibao.batch.causecap import settle_cause_caps
from yibao.batch.chains import chain_thresholds
from yibao.batch.factkey import category_on_the_day, place_class, with_key
from yibao.batch.frames import CLASS_COLUMNS, RegionYear
from yibao.batch.ordering import KIND, SCHEMES, ordered, validate
from yibao.batch.params import PER_CODE, TOP_ON_CODE, Tables, UnsupportedError, build
from yibao.batch.solver import capped_running, cum_sum_in, round_half_up
from yibao.batch.yearly import groups_of, year_layer
from yibao.domain.conditions import DOMAINS
from yibao.domain.engine.results import RefusalCode, Route
from yibao.domain.model import Kind
from yibao.domain.parameters import PolicyGapError, RegionPolicy, ThresholdPer, TopLineOn

SAFE = 2**62  # every intermediate product stays below this
KEYS = 2**24  # threshold counter keys per person (a key's code is below this)


@dataclass(frozen=True)
class BatchResult:
    """The settled region-year.

    `encounters`: one row per bill in the order of settlement (`order`), with `route`,
    `refused` (the refusal code or null), and `total`, `over_limit`, `self_pay` (full
    self-pay), `basic`, `assistance`, `institution`, `personal` in fen; `eligible`,
    `first_self_pay` and `threshold` exact, in units of 10**-(2 + places) yuan. `persons`: one row per person, with `si_base`
    (the same exact units), `serious_illness` and `personal` (the year's, after the
    serious-illness layer) in fen.
    """

    places: int
    encounters: pl.DataFrame
    persons: pl.DataFrame

    def exact(self, value: int) -> Decimal:
        """An exact column's integer as Decimal yuan."""
        return Decimal(value).scaleb(-(2 + self.places))


# Routes as small integers inside the engine (comparing text is slow).
ROUTE = {r: i for i, r in enumerate(Route)}
# Refusal codes (`scope.refusal_for`) as small integers inside the engine, text outside.
REFUSAL = {code: i for i, code in enumerate(RefusalCode)}
_OUTPATIENT_LIKE = [KIND[k] for k in Kind if k.outpatient_like]
STAY = PER_CODE[ThresholdPer.STAY]
YEAR = PER_CODE[ThresholdPer.YEAR]
ON_COST = TOP_ON_CODE[TopLineOn.POOLED_COST]
ON_PAYMENT = TOP_ON_CODE[TopLineOn.FUND_PAYMENT]


def _kind(kind: Kind) -> pl.Expr:
    return pl.col("kc") == KIND[kind]


def _route(route: Route) -> pl.Expr:
    return pl.col("rc") == ROUTE[route]


class Params:
    """A parameter of each bill's row of `Tables.by_key` (the row index is the column `k`),
    read where an expression needs it rather than copied into the frame."""

    def __init__(self, tables: Tables) -> None:
        self.columns = {name: tables.by_key.get_column(name) for name in tables.by_key.columns}

    def __call__(self, name: str) -> pl.Expr:
        return pl.lit(self.columns[name]).gather(pl.col("k"))


def _put(frame: pl.DataFrame, part: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """Columns of `part` (rows named by `order`, the frame's row number) as columns of the
    whole frame, null on the rows `part` lacks: a scatter, not a join (no row is copied)."""
    index = part.get_column("order")
    return frame.with_columns(
        pl.repeat(None, frame.height, dtype=part.schema[c], eager=True)
        .alias(c)
        .scatter(index, part.get_column(c))
        for c in columns
    )


def _amounts_fit(frame: pl.DataFrame, one: int) -> None:
    """`check_supported`'s size check on the ordered bills (a person's year is a run)."""
    if not frame.height:
        return
    total = _total()
    largest, yearly = frame.select(
        total.max().alias("largest"), cum_sum_in(total, "person").max().alias("yearly")
    ).row(0)
    _refuse_large(int(largest), int(yearly), one)


def _total() -> pl.Expr:
    """A bill's total in fen: its plain lines (and items at the class's share), its items'
    over-limit parts, those outside their restriction, and those with a ratio of their own."""
    parts = [pl.col(c) for c in CLASS_COLUMNS.values()]
    parts += [pl.col("over_limit"), pl.col("restricted")]
    parts += [pl.col(f"ratio_rest_{c}") for c in CLASS_COLUMNS.values()]
    return pl.sum_horizontal(parts)


def _refuse_large(largest: int, yearly: int, one: int) -> None:
    if largest * one**3 >= SAFE or yearly * one**2 >= SAFE:
        raise UnsupportedError(
            "amounts too large for exact 64-bit arithmetic "
            f"(largest bill {largest} fen, largest year {yearly} fen)"
        )


def check_supported(policy: RegionPolicy, data: RegionYear) -> Tables:
    """The parameter tables for the year, or `UnsupportedError` naming what is not settled.

    Everything the scalar engine does is settled; what is refused: parameters finer than
    `params.MAX_PLACES` decimal places, and amounts so large that an exact product would
    not fit 64-bit integers.
    """
    tables = build(policy, data.year)
    one = tables.one
    enc = data.encounters
    if enc.height:
        enc = items.fold(
            enc.with_row_index("order").with_columns(pl.col("order").cast(pl.Int64)), one
        )
        total = _total()
        largest = enc.select(total.max()).item()
        yearly = enc.group_by("person").agg(total.sum().alias("t")).get_column("t").max()
        assert isinstance(largest, int)
        assert isinstance(yearly, int)
        _refuse_large(largest, yearly, one)
    return tables


def settle(policy: RegionPolicy, data: RegionYear) -> BatchResult:
    """Settle every person's year: each bill in date order, then the serious-illness layer."""
    validate(policy, data)
    tables = build(policy, data.year)
    one = tables.one
    frame = items.fold(ordered(data, policy.year_span(data.year)[0]), one)
    _amounts_fit(frame, one)
    frame = _keyed(frame, policy, data, tables)
    p = Params(tables)
    gaps = frame.select(p("gap").drop_nulls().first()).item()
    if gaps is not None:
        raise PolicyGapError(str(gaps))

    frame = _refusals(frame, data, tables, p)
    frame = _scope_and_place(frame, data, tables, p)
    frame = _routes(frame, tables, p)
    frame = _thresholds(frame, tables, p)
    frame = _payments(frame, tables, p)
    frame = frame.with_columns(
        (pl.col("total") - pl.col("basic") - pl.col("assistance") - pl.col("institution")).alias(
            "personal"
        )
    )
    negative = frame.filter(pl.col("personal") < 0)
    if negative.height:  # the scalar engine's guard against a rate above 1
        raise AssertionError(f"encounter {negative['encounter'][0]}: negative personal payment")
    routes = pl.Series([r.value for r in Route], dtype=pl.String)
    encounters = frame.select(
        "encounter",
        "person",
        "order",
        pl.lit(routes).gather(pl.col("rc")).alias("route"),
        pl.lit(pl.Series([c.value for c in REFUSAL], dtype=pl.String))
        .gather(pl.col("refused"))
        .alias("refused"),
        "total",
        "eligible",
        "over_limit",
        "self_pay",
        (
            (pl.col("total") - pl.col("over_limit") - pl.col("self_pay")) * one - pl.col("eligible")
        ).alias("first_self_pay"),
        "threshold",
        "basic",
        "assistance",
        "institution",
        "personal",
    )
    found = groups_of(policy, pl.col("diagnosis"), data.encounters.get_column("diagnosis"))
    groups = None if found is None else frame.select(found).to_series()
    years = year_layer(policy, data, encounters, one, groups)
    return BatchResult(tables.places, encounters, years)


def _keyed(
    frame: pl.DataFrame, policy: RegionPolicy, data: RegionYear, tables: Tables
) -> pl.DataFrame:
    """Each bill's epoch, place class, category (where the tables name it) and row `k` of
    the parameter tables (factkey.py)."""
    starts = pl.Series("starts", tables.starts, dtype=pl.Date)
    frame = frame.with_columns(
        (pl.lit(starts).search_sorted(pl.col("date"), side="right").cast(pl.Int64) - 1).alias(
            "epoch"
        )
    )
    frame = place_class(frame, data)
    if any(dim.name == "category" for dim in tables.dims):
        frame = category_on_the_day(frame, data)
    causes = {cause: i for i, cause in enumerate(DOMAINS["cause"])}
    cause = (
        pl.col("cause").fill_null("ordinary") if "cause" in frame.columns else pl.lit("ordinary")
    )
    frame = frame.with_columns(cause.replace_strict(causes, return_dtype=pl.Int8).alias("cc"))
    return with_key(frame, policy, data, tables)


def _refusals(frame: pl.DataFrame, data: RegionYear, tables: Tables, p: Params) -> pl.DataFrame:
    """`scope.refusal_for`: not offered, a retiree's contribution years, special diseases."""
    special = _rows(
        frame,
        _kind(Kind.SPECIAL_OUTPATIENT),
        ["order", "person", "disease", "date", "hospital", "epoch", "sc"],
    ).with_columns(pl.lit(pl.Series(SCHEMES)).gather(pl.col("sc")).alias("scheme"))
    approvals = (
        data.persons.select("person", "approvals")
        .explode("approvals")
        .filter(pl.col("approvals").is_not_null())
        .unnest("approvals")
        .rename({"disease": "a_disease", "hospital": "a_hospital"})
    )
    approved = (
        special.join(
            approvals, left_on=["person", "disease"], right_on=["person", "a_disease"], how="inner"
        )
        .filter(
            (pl.col("valid_from").is_null() | (pl.col("valid_from") <= pl.col("date")))
            & (pl.col("valid_to").is_null() | (pl.col("date") <= pl.col("valid_to")))
        )
        .group_by("order")
        .agg((pl.col("a_hospital") == pl.col("hospital")).any().alias("right_hospital"))
        .with_columns(pl.lit(True).alias("approved"))
    )
    frame = _put(frame, approved, ["approved", "right_hospital"])
    listed = (
        special.select("order", "scheme", "epoch", "disease")
        .join(tables.special, on=["scheme", "epoch", "disease"], how="semi")
        .select("order", pl.lit(True).alias("listed"))
    )
    frame = _put(frame, listed, ["listed"])
    is_special = _kind(Kind.SPECIAL_OUTPATIENT)
    refused = (
        pl.when(~p("offered"))
        .then(REFUSAL[RefusalCode.SCHEME_NOT_OFFERED])
        .when(
            pl.col("retired")
            & p("min_years").is_not_null()
            & (pl.col("contribution_years").fill_null(0) < p("min_years"))
        )
        .then(REFUSAL[RefusalCode.CONTRIBUTION_YEARS])
        .when(is_special & ~p("sp_on"))
        .then(REFUSAL[RefusalCode.SPECIAL_NOT_OFFERED])
        .when(is_special & pl.col("listed").is_null())
        .then(REFUSAL[RefusalCode.SPECIAL_UNKNOWN_DISEASE])
        .when(is_special & pl.col("approved").is_null())
        .then(REFUSAL[RefusalCode.SPECIAL_NO_APPROVAL])
        .when(is_special & ~pl.col("right_hospital").fill_null(False))
        .then(REFUSAL[RefusalCode.SPECIAL_WRONG_HOSPITAL])
    )
    return frame.with_columns(refused.cast(pl.Int8).alias("refused"))


def _scope_and_place(
    frame: pl.DataFrame, data: RegionYear, tables: Tables, p: Params
) -> pl.DataFrame:
    """`scope.out_of_scope`, `scope.eligible_cost` and `scope.place_of`."""
    one = tables.one
    out_of_scope = (~pl.col("designated") & (~_kind(Kind.EMERGENCY))) | (
        (_kind(Kind.PHARMACY)) & ~pl.col("prescription")
    )
    settled = pl.col("refused").is_null() & ~out_of_scope
    frame = frame.with_columns(
        out_of_scope.alias("out_of_scope"),
        settled.alias("settled"),
        _total().alias("total"),
    )
    eligible, self_pay = _eligible_and_self_pay(p)
    settled_self_pay = pl.col("total") - pl.col("over_limit")
    frame = frame.with_columns(
        pl.when(pl.col("settled")).then(eligible).otherwise(0).alias("eligible"),
        pl.when(pl.col("settled")).then(self_pay).otherwise(settled_self_pay).alias("self_pay"),
    )
    # Place (factkey.place_class): at home or filed, no reduction; else the region's.
    place = pl.col("place")
    amount = (
        pl.when(place.is_in(["local", "filed"]))
        .then(0)
        .when(place == "emergency")
        .then(p("red_emergency"))
        .when(place == "referred")
        .then(p("red_referral"))
        .otherwise(p("red_unfiled"))
    )
    return frame.with_columns(
        pl.when(p("red_points")).then(amount).otherwise(0).fill_null(0).alias("points"),
        (one - pl.when(p("red_points")).then(0).otherwise(amount)).fill_null(one).alias("keep"),
    )


def _eligible_and_self_pay(p: Params) -> tuple[pl.Expr, pl.Expr]:
    """`lines.line_parts`: a class's share of its plain lines (and of items without a
    ratio of their own); an item's own ratio where the class's share is not 0; the rest
    of a class whose share is 0, and items outside their restriction, self-paid."""
    eligible = pl.lit(0, dtype=pl.Int64)
    self_pay = pl.col("restricted")
    for name, column in (("a", "class_a"), ("b", "class_b"), ("self_pay", "class_self_pay")):
        share = p(f"share_{name}")
        own = pl.when(share != 0).then(pl.col(f"ratio_eligible_{column}")).otherwise(0)
        eligible = eligible + pl.col(column) * share + own
        zero = pl.col(column) + pl.col(f"ratio_rest_{column}")
        self_pay = self_pay + pl.when(share == 0).then(zero).otherwise(0)
    return eligible, self_pay


def _routes(frame: pl.DataFrame, tables: Tables, p: Params) -> pl.DataFrame:
    """Which rules settle the bill (`settle_encounter`), the pilot's conditions included."""
    # The pilot's limited cost, looked up only for stays at pilot hospitals (the only bills
    # the pilot can settle).
    candidates = _rows(
        frame,
        _kind(Kind.INPATIENT) & pl.col("pilot") & pl.col("designated"),
        ["order", "epoch", "diagnosis"],
    ).join(tables.pilot_diseases, on=["epoch", "diagnosis"], how="inner")
    frame = _put(frame, candidates, ["pilot_limited"])
    birth, day = pl.col("birth_date"), pl.col("date")
    before_birthday = (day.dt.month().cast(pl.Int32) * 100 + day.dt.day()) < (
        birth.dt.month().cast(pl.Int32) * 100 + birth.dt.day()
    )
    age = day.dt.year() - birth.dt.year() - before_birthday.cast(pl.Int32)
    pilot = (
        _kind(Kind.INPATIENT)
        & pl.col("pilot_limited").is_not_null()
        & pl.col("pilot")
        & pl.col("designated")
        & p("pilot_scheme").fill_null(False)
        & (age <= p("pilot_max_age"))
    )
    route = (
        pl.when(pl.col("refused").is_not_null())
        .then(ROUTE[Route.REFUSED])
        .when(pl.col("out_of_scope"))
        .then(ROUTE[Route.OUT_OF_SCOPE])
        .when(p("fixed").is_not_null())
        .then(ROUTE[Route.FIXED_SUM])
        .when(pl.col("kc").is_in(_OUTPATIENT_LIKE))
        .then(ROUTE[Route.OUTPATIENT])
        .when(pilot.fill_null(False))
        .then(ROUTE[Route.PILOT])
        .when(_kind(Kind.SPECIAL_OUTPATIENT))
        .then(ROUTE[Route.SPECIAL_OUTPATIENT])
        .otherwise(ROUTE[Route.INPATIENT])
    )
    return frame.with_columns(route.cast(pl.Int8).alias("rc"))


def _rows(frame: pl.DataFrame, mask: pl.Expr, columns: Sequence[str]) -> pl.DataFrame:
    """Some columns of the rows where `mask` holds: narrowed first, so that only those
    columns are copied (filtering the wide frame would copy every column)."""
    return frame.select(*columns, mask.alias("_m")).filter("_m").drop("_m")


def _thresholds(frame: pl.DataFrame, tables: Tables, p: Params) -> pl.DataFrame:
    """`benefits.charge_threshold`: per stay, or against a yearly counter by key.

    Each counter (outpatient, inpatient, special outpatient) is settled on its own bills.
    A yearly counter is kept per (person, counter) or per (person, counter, disease): the
    first needs no sort (a person's bills are contiguous, in date order), the second is
    sorted by (person, disease) first.
    """
    one = tables.one
    parts: list[pl.DataFrame] = []
    for route, per, amount, disease in (
        (Route.OUTPATIENT, "out_per", "out_thr", "diagnosis"),
        (Route.INPATIENT, "in_per", "in_thr", "diagnosis"),
        (Route.SPECIAL_OUTPATIENT, "sp_per", "sp_thr", "disease"),
    ):
        rows = _rows(frame, _route(route), ["order", "person", "eligible", "k", disease])
        if not rows.height:
            continue
        rows = rows.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
            "order",
            "person",
            "eligible",
            p(per).alias("t_per"),
            (p(amount) * one).alias("t_cap"),
            pl.col(disease).alias("t_disease"),
        )
        rows = _yearly_thresholds(rows)
        threshold = (
            pl.when(pl.col("t_per").is_null())
            .then(0)
            .when(pl.col("t_per") == STAY)
            .then(pl.min_horizontal("eligible", "t_cap"))
            .otherwise(pl.col("t_yearly"))
        )
        parts.append(rows.select("order", threshold.cast(pl.Int64).alias("threshold")))
    chained = chain_thresholds(frame, tables, p)
    if chained.height:
        parts.append(chained)
        parts = [pl.concat(parts).unique("order", keep="last", maintain_order=True)]
    if parts:
        frame = _put(frame, pl.concat(parts), ["threshold"])
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Int64).alias("threshold"))
    return frame.with_columns(pl.col("threshold").fill_null(0)).with_columns(
        (pl.col("eligible") - pl.col("threshold")).alias("pooled")
    )


def _yearly_thresholds(rows: pl.DataFrame) -> pl.DataFrame:
    """`t_yearly`: what a yearly threshold charges each bill, against its counter."""
    is_yearly = pl.col("t_per").is_not_null() & (pl.col("t_per") != STAY)
    yearly = _rows(rows, is_yearly, ["_row", "person", "eligible", "t_cap", "t_per", "t_disease"])
    if not yearly.height:
        return rows.with_columns(pl.lit(None, dtype=pl.Int64).alias("t_yearly"))
    if yearly.select((pl.col("t_per") == YEAR).all()).item():
        yearly = yearly.with_columns(pl.col("person").alias("t_group"))
    else:
        key = (
            pl.when(pl.col("t_per") == YEAR)
            .then(pl.lit(""))
            .otherwise(pl.lit(":") + pl.col("t_disease").fill_null("-"))
        )
        yearly = yearly.with_columns(
            (pl.col("person") * KEYS + key.cast(pl.Categorical).to_physical().cast(pl.Int64)).alias(
                "t_group"
            )
        ).sort("t_group", "_row")
    charged = yearly.select(
        pl.col("_row").alias("order"),
        capped_running(yearly, group="t_group", amount="eligible", cap="t_cap", scale=1).alias(
            "t_yearly"
        ),
    )
    return _put(rows, charged, ["t_yearly"])


def _eff(rate: pl.Expr) -> pl.Expr:
    """`points_off`: a rate lowered by the place's points, never below 0."""
    return (rate - pl.col("points")).clip(lower_bound=0)


def _in_like(frame: pl.DataFrame, tables: Tables, p: Params) -> pl.DataFrame:
    """`benefits.inpatient_like` before its caps: the segments of the year's pooled cost
    (inpatient and special together) each stay covers, at rates raised by the bill's
    points (`rules.raised`) and lowered by the place's."""
    one = tables.one
    need = ["order", "person", "k", "points", "keep", "pooled", "cc"]
    in_like = _rows(
        frame, _route(Route.INPATIENT) | _route(Route.SPECIAL_OUTPATIENT), need
    ).with_columns((cum_sum_in(pl.col("pooled"), "person") - pl.col("pooled")).alias("before"))
    before = pl.col("before")
    after = before + pl.col("pooled")
    top = p("in_top") * one
    paid_to = (
        pl.when(p("in_top_on") == ON_COST)
        .then(pl.max_horizontal(pl.min_horizontal(after, top), before))
        .otherwise(after)
    )
    in_like = in_like.with_columns(paid_to.alias("paid_to"))
    segments: list[pl.Expr] = []
    for j in range(tables.brackets):
        lo = p(f"in_lo_{j}") * one
        hi = p(f"in_hi_{j}") * one
        upper = pl.min_horizontal(pl.col("paid_to"), hi.fill_null(pl.col("paid_to")))
        width = (upper - pl.max_horizontal(before, lo)).clip(lower_bound=0)
        raised = pl.min_horizontal(p(f"in_rate_{j}") + p("in_points"), pl.lit(one))
        segments.append(pl.when(p(f"in_lo_{j}").is_null()).then(0).otherwise(width * _eff(raised)))
    return in_like.select(
        "order",
        "person",
        "keep",
        pl.sum_horizontal(segments).alias("computed"),
        pl.when(p("in_top_on") == ON_PAYMENT).then(p("in_top")).alias("cap"),
        p("cause_cap").alias("cause_cap"),
        pl.col("cc").alias("cause"),
    )


def _capped_paid(frame: pl.DataFrame, tables: Tables, p: Params) -> pl.DataFrame:
    """`benefits.outpatient` and `benefits.inpatient_like`: one capped counter per person
    for outpatient payments, one for inpatient and special ones (each counter's bills
    are in date order within the person: no sort); then the yearly caps of a cause
    (`causecap.py`), which couple the counters, for the persons with such bills."""
    one = tables.one
    need = ["order", "person", "k", "points", "keep", "pooled", "cc"]
    outpatient = _rows(frame, _route(Route.OUTPATIENT), need).select(
        "order",
        "person",
        "keep",
        (pl.col("pooled") * _eff(p("out_rate"))).alias("computed"),
        p("out_limit").alias("cap"),
        p("cause_cap").alias("cause_cap"),
        pl.col("cc").alias("cause"),
        pl.lit(0, dtype=pl.Int8).alias("counter"),
    )
    in_like = _in_like(frame, tables, p).with_columns(pl.lit(1, dtype=pl.Int8).alias("counter"))
    paid = [
        capped.select(
            "order",
            capped_running(
                capped,
                group="person",
                amount="computed",
                cap="cap",
                scale=one * one,
                keep="keep",
                keep_one=one,
            ).alias("paid"),
        )
        for capped in (outpatient, in_like)
    ]
    return settle_cause_caps(pl.concat(paid), pl.concat([outpatient, in_like]), one * one, one)


def _pilot_paid(frame: pl.DataFrame, tables: Tables, p: Params) -> pl.DataFrame:
    """`benefits.pilot`: fixed-cost payment on min(eligible, limited cost)."""
    one = tables.one
    pilot = _rows(
        frame,
        _route(Route.PILOT),
        ["order", "k", "points", "keep", "eligible", "pilot_limited", "assistance"],
    )
    base = pl.min_horizontal("eligible", pl.col("pilot_limited") * one)
    return pilot.select(
        "order",
        round_half_up(base * _eff(p("pilot_rate")) * pl.col("keep"), one**3).alias("p_basic"),
        pl.when(pl.col("assistance"))
        .then(round_half_up(base * p("pilot_assist"), one * one))
        .otherwise(0)
        .alias("p_assistance"),
        round_half_up(pl.col("eligible") - base, one).alias("p_institution"),
    )


def _payments(frame: pl.DataFrame, tables: Tables, p: Params) -> pl.DataFrame:
    """What the fund pays each bill, by its route."""
    one = tables.one
    # A fixed sum: at most the eligible cost (`rules.pay_fixed_sum`).
    fixed = _rows(frame, _route(Route.FIXED_SUM), ["order", "k", "eligible"]).select(
        "order",
        round_half_up(pl.min_horizontal(p("fixed") * one, pl.col("eligible")), one).alias(
            "f_basic"
        ),
    )
    frame = _put(frame, _capped_paid(frame, tables, p), ["paid"])
    frame = _put(frame, _pilot_paid(frame, tables, p), ["p_basic", "p_assistance", "p_institution"])
    frame = _put(frame, fixed, ["f_basic"])
    is_pilot = _route(Route.PILOT)
    return frame.with_columns(
        pl.when(is_pilot)
        .then(pl.col("p_basic"))
        .when(_route(Route.FIXED_SUM))
        .then(pl.col("f_basic"))
        .otherwise(pl.col("paid").fill_null(0))
        .alias("basic"),
        pl.when(is_pilot).then(pl.col("p_assistance")).otherwise(0).alias("assistance"),
        pl.when(is_pilot).then(pl.col("p_institution")).otherwise(0).alias("institution"),
        pl.when(is_pilot).then(0).otherwise(pl.col("threshold")).alias("threshold"),
    )
