"""Demo data: regions filled so that a person trying yibao sees something real.

`load_demo` registers the region (from its policy), about 25 institutions in it, and its
neighbours: the other demo region that has a policy (sample-city and hill-county know
each other) with a few institutions and a tenth as many insured persons, and `other-city`
as data only (its code, catalogue and 3 hospitals, no persons). Each region has its own
catalogue (the neighbours' fixed prices are lower), so that a bill elsewhere is priced by
the place of treatment and settled by the insured place (reference §9). The persons have
valid resident ID numbers, guardians for the children, enrolments for the year, cards,
special-disease approvals and remote-treatment filings (the main region's to other-city,
the neighbour's to the main region).

Institutions and the catalogues are the same for every load; the persons follow from the
seed: the same seed gives the same persons, to the character. Everything is one
transaction, inserted in batches, so a failed load leaves nothing behind. A region that
already has persons is refused (`demo_exists`): running the demo twice is an error, not
duplicates. (The population is in demo_people.py, the catalogue in demo_catalogue.py.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from yibao.domain.enrolment import premium_for
from yibao.domain.model import Scheme
from yibao.domain.parameters import PolicyGapError, RegionPolicy
from yibao.domain.registry import (
    Card,
    CardStatus,
    CatalogueItem,
    Enrolment,
    Institution,
    InstitutionKind,
    PersonRecord,
)
from yibao.service.access import hash_password
from yibao.service.demo_catalogue import catalogue, catalogue_at
from yibao.service.demo_people import (  # the names: batch/load.py reads them here
    _GIVEN,
    _SURNAME_CUM,
    _SURNAME_LIST,
    OTHER_REGION,
    DemoPerson,
    Population,
    region_prefix,
)
from yibao.service.errors import ConflictError, ServiceError
from yibao.service.ports import UnitOfWork, UowFactory
from yibao.service.ports.records import DuplicateError

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_REGIONS",
    "OTHER_REGION",
    "_GIVEN",
    "_SURNAME_CUM",
    "_SURNAME_LIST",
    "DemoSample",
    "DemoSummary",
    "catalogue",
    "institutions",
    "load_demo",
    "region_prefix",
]

BATCH = 500  # rows per executemany
# The demo regions with a policy: each is the other's neighbour.
DEMO_REGIONS = ("sample-city", "hill-county")
NEIGHBOUR_SHARE = 10  # a neighbour has a tenth of the main region's persons
NEIGHBOUR_PRICES = Decimal("0.90")  # a neighbour's fixed prices: 90% of the demo's
# other-city: a region known as data only (its code, names, catalogue and hospitals).
OTHER_CITY = (OTHER_REGION, "邻市", "Other City", "990800")

# --- institutions -------------------------------------------------------------------

# (id, name after the region's Chinese name or whole, level, kind, designated, pilot)
_LOCAL_INSTITUTIONS: tuple[tuple[str, str, int, InstitutionKind, bool, bool], ...] = (
    ("H3-001", "{city}第一人民医院", 3, InstitutionKind.HOSPITAL, True, True),
    ("H3-002", "{city}儿童医院", 3, InstitutionKind.HOSPITAL, True, True),
    ("H3-003", "{city}中心医院", 3, InstitutionKind.HOSPITAL, True, False),
    ("H3-004", "{city}肿瘤医院", 3, InstitutionKind.HOSPITAL, True, False),
    ("H2-001", "{city}第二人民医院", 2, InstitutionKind.HOSPITAL, True, False),
    ("H2-002", "{city}第三人民医院", 2, InstitutionKind.HOSPITAL, True, False),
    ("H2-003", "{city}中医医院", 2, InstitutionKind.HOSPITAL, True, False),
    ("H2-004", "{city}妇幼保健院", 2, InstitutionKind.HOSPITAL, True, False),
    ("H2-005", "{city}城南医院", 2, InstitutionKind.HOSPITAL, True, False),
    ("H1-001", "东关镇卫生院", 1, InstitutionKind.HOSPITAL, True, False),
    ("H1-002", "河口镇卫生院", 1, InstitutionKind.HOSPITAL, True, False),
    ("H1-003", "青山乡卫生院", 1, InstitutionKind.HOSPITAL, True, False),
    ("C1-001", "城东社区卫生服务中心", 1, InstitutionKind.CLINIC, True, False),
    ("C1-002", "城西社区卫生服务中心", 1, InstitutionKind.CLINIC, True, False),
    ("C1-003", "南湖社区卫生服务中心", 1, InstitutionKind.CLINIC, True, False),
    ("C1-004", "北苑社区卫生服务中心", 1, InstitutionKind.CLINIC, True, False),
    ("C0-001", "新华路社区卫生服务站", 0, InstitutionKind.CLINIC, True, False),
    ("C0-002", "和平里社区卫生服务站", 0, InstitutionKind.CLINIC, True, False),
    ("C0-003", "桃园村卫生室", 0, InstitutionKind.CLINIC, True, False),
    ("C0-004", "康宁诊所", 0, InstitutionKind.CLINIC, False, False),
    ("C0-005", "美齿口腔门诊部", 0, InstitutionKind.CLINIC, False, False),
    ("P0-001", "仁和大药房(人民路店)", 0, InstitutionKind.PHARMACY, True, False),
    ("P0-002", "老百姓大药房(解放路店)", 0, InstitutionKind.PHARMACY, True, False),
    ("P0-003", "益丰大药房(南湖店)", 0, InstitutionKind.PHARMACY, True, False),
    ("P0-004", "国大药房(火车站店)", 0, InstitutionKind.PHARMACY, True, False),
    ("P0-005", "同仁堂药店", 0, InstitutionKind.PHARMACY, True, False),
)

# Hospitals in other-city: referrals, filings and emergencies go there.
_OTHER_INSTITUTIONS: tuple[tuple[str, str, int], ...] = (
    ("OC-H3-001", "省人民医院", 3),
    ("OC-H3-002", "省肿瘤医院", 3),
    ("OC-H3-003", "省儿童医院", 3),
)

# A neighbouring demo region's institutions: these of the list above, their ids prefixed
# with the region's two capitals (HC-H3-001), their names after the region's.
_NEIGHBOUR_INSTITUTIONS = ("H3-001", "H2-001", "H2-003", "H1-001", "C1-001", "P0-001")


def institutions(policy: RegionPolicy) -> list[Institution]:
    """The demo institutions of a region: about 25 in it, 3 hospitals in `other-city`."""
    return [*_local(policy), *_other_city()]


def _local(policy: RegionPolicy, prefix: str = "") -> list[Institution]:
    city = policy.name.zh
    runs_pilot = policy.pilot is not None  # pilot hospitals only where the pilot runs
    chosen = _NEIGHBOUR_INSTITUTIONS if prefix else None
    return [
        Institution(
            prefix + iid,
            policy.code,
            name.format(city=city),
            level,
            kind,
            designated,
            pilot and runs_pilot,
        )
        for iid, name, level, kind, designated, pilot in _LOCAL_INSTITUTIONS
        if chosen is None or iid in chosen
    ]


def _other_city() -> list[Institution]:
    return [
        Institution(iid, OTHER_REGION, name, level, InstitutionKind.HOSPITAL, True)
        for iid, name, level in _OTHER_INSTITUTIONS
    ]


@dataclass(frozen=True)
class DemoSample:
    """One person to try the system with."""

    person_id: str
    name: str
    card_number: str
    scheme: str
    note: str


@dataclass(frozen=True)
class DemoSummary:
    region: str
    year: int
    seed: int
    institutions: int  # in every region the load wrote
    catalogue_items: int
    persons: int
    children: int
    guardians: int
    assistance: int
    cards: int
    lost_cards: int
    approvals: int
    filings: int
    child: DemoSample | None  # a pilot-age student with an active card
    employee: DemoSample | None  # a working employee with an active card
    approved: DemoSample | None  # an adult resident with an approved special disease
    retiree_short: DemoSample | None  # a retiree with too few contribution years
    lost_card: DemoSample | None  # a person whose card is reported lost
    filed: DemoSample | None  # a person with a remote-treatment filing to other-city
    neighbours: tuple[str, ...] = ()  # the other regions written, with their persons

    def describe(self) -> str:
        """A few lines for a person about to try the system."""
        lines = [
            f"demo region {self.region} {self.year} (seed {self.seed}): {self.persons:,} persons "
            f"({self.children:,} children), {self.institutions} institutions, "
            f"{self.catalogue_items} catalogue items, {self.approvals} approvals, {self.filings} filings",
            f"sign in (POST /v1/auth/tokens) as clerk, approver, guardian or an institution in "
            f"lower case (h3-001), password {DEMO_PASSWORD!r}; try these cards:",
        ]
        for sample in (
            self.child,
            self.employee,
            self.approved,
            self.retiree_short,
            self.lost_card,
            self.filed,
        ):
            if sample is not None:
                lines.append(
                    f"  {sample.card_number}  {sample.person_id} {sample.name} ({sample.scheme}): {sample.note}"
                )
        lines += [f"neighbouring region {n}" for n in self.neighbours]
        return "\n".join(lines)


# --- loading ------------------------------------------------------------------------


def _sample(p: DemoPerson | None, note: str) -> DemoSample | None:
    if p is None:
        return None
    return DemoSample(p.id, p.name, p.card, p.scheme.value, note)


def _age(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass
class _Region:
    """One region of a load: its policy, institutions, catalogue and persons."""

    policy: RegionPolicy
    places: list[Institution]
    items: list[CatalogueItem]
    people: list[DemoPerson]


def has_persons(uow_factory: UowFactory, region: str) -> bool:
    """Whether the region has persons registered (the demo loads into an empty one)."""
    with uow_factory() as uow:
        return uow.registry.has_persons(region)


def load_demo(
    uow_factory: UowFactory,
    policies: Callable[[str], RegionPolicy],
    *,
    region: str = "sample-city",
    persons: int = 3000,
    year: int = 2026,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> DemoSummary:
    """Fill `region` with demo institutions, catalogue and `persons` insured persons for
    `year`, and its neighbours (see the module's text), the same for the same seed.
    Refuses a region that already has persons; a neighbour already there is left as it is."""
    if persons < 1:
        raise ServiceError("demo_persons", "the demo needs at least one person", persons=persons)
    main = _build(policies(region), persons, year, seed, OTHER_REGION, "")
    try:
        with uow_factory() as uow:
            if uow.registry.has_persons(main.policy.code):
                raise ConflictError(
                    "demo_exists",
                    f"{main.policy.code} already has persons; the demo loads into an empty "
                    "region only",
                    region=main.policy.code,
                )
            neighbours = _neighbours(uow, policies, main, persons, year, seed)
            for part in (main, *neighbours):
                _write(uow, part, year, progress if part is main else None)
            _write_other_city(uow)
            _accounts(uow, main, neighbours)
            uow.commit()
    except DuplicateError as exc:  # the store refused a key: nothing was written
        raise ConflictError(
            "demo_conflict",
            "the demo's institutions, catalogue codes, persons or cards are already in the "
            f"database (another region's demo?): {exc}",
            region=main.policy.code,
        ) from None
    summary = _summary(main.policy, year, seed, main.places, main.items, main.people)
    return _with_neighbours(summary, neighbours)


def _build(
    policy: RegionPolicy, persons: int, year: int, seed: int, elsewhere: str, prefix: str
) -> _Region:
    """A region's part of the load; `prefix`: a neighbour's institution ids' prefix."""
    place_of: Callable[[str], str] = str
    if prefix:

        def place_of(_: str) -> str:  # a neighbour's approvals: its level-3 hospital
            return prefix + "H3-001"

    population = Population(policy, year, seed, elsewhere, place_of)
    people = population.build(persons)
    population.certify(people)
    items = catalogue_at(NEIGHBOUR_PRICES) if prefix else catalogue()
    return _Region(policy, _local(policy, prefix), items, people)


def _neighbours(
    uow: UnitOfWork,
    policies: Callable[[str], RegionPolicy],
    main: _Region,
    persons: int,
    year: int,
    seed: int,
) -> list[_Region]:
    """The other demo regions with a policy, not loaded yet: a tenth as many persons,
    filing to the main region; a region without a policy (or for the year) is left out."""
    out: list[_Region] = []
    for n, code in enumerate(DEMO_REGIONS, start=1):
        if code == main.policy.code or uow.registry.has_persons(code):
            continue
        try:
            policy = policies(code)
            count = max(1, persons // NEIGHBOUR_SHARE)
            part = _build(
                policy, count, year, seed + 1000 * n, main.policy.code, f"{region_prefix(code)}-"
            )
        except (ValueError, ServiceError):
            continue
        out.append(part)
    return out


def _with_neighbours(summary: DemoSummary, neighbours: list[_Region]) -> DemoSummary:
    """The summary with every institution the load wrote, and a line per neighbour."""
    lines = [
        f"{n.policy.code}: {len(n.people):,} persons, {len(n.places)} institutions"
        for n in neighbours
    ]
    lines.append(f"{OTHER_REGION}: {len(_other_city())} hospitals (data only)")
    return replace(
        summary,
        institutions=summary.institutions
        + sum(len(n.places) for n in neighbours)
        + len(_other_city()),
        neighbours=tuple(lines),
    )


# Every demo account signs in with this password (POST /v1/auth/tokens). A demo only.
DEMO_PASSWORD = "yibao-demo"


def _accounts(uow: UnitOfWork, main: _Region, neighbours: list[_Region]) -> None:
    """Accounts to try the roles with: a clerk and an approver of the region, a clerk of
    each neighbour (hc-clerk), one per institution (named as the institution, lower case),
    and a guardian of the first child with a guardian."""
    secret = hash_password(DEMO_PASSWORD)
    code = main.policy.code
    rows: list[dict[str, object]] = [
        {"id": "clerk", "role": "clerk", "name": "演示柜员", "region": code},
        {"id": "approver", "role": "approver", "name": "演示区中心审批", "region": code},
    ]
    rows += [
        {
            "id": f"{region_prefix(n.policy.code).lower()}-clerk",
            "role": "clerk",
            "name": f"{n.policy.name.zh}演示柜员",
            "region": n.policy.code,
        }
        for n in neighbours
    ]
    places = [*main.places, *(i for n in neighbours for i in n.places), *_other_city()]
    rows += [
        {"id": inst.id.lower(), "role": "institution", "name": inst.name, "institution_id": inst.id}
        for inst in places
    ]
    parent = next(
        (p.guardian for p in sorted(main.people, key=lambda p: p.id) if p.guardian is not None),
        None,
    )
    if parent is not None:
        rows.append(
            {"id": "guardian", "role": "guardian", "name": parent.name, "person_id": parent.id}
        )
    for row in rows:
        uow.accounts.add({**row, "password_hash": secret})


def _enrolment(policy: RegionPolicy, person: DemoPerson, year: int) -> Enrolment:
    """The year's active enrolment, with the premium a resident or student paid as
    enrolment would have split it (employees pay through their employer: nothing here),
    paid in the window."""
    enrolment = Enrolment(
        person.id,
        year,
        person.scheme,
        "active",
        date(year, 1, 1),
        date(year, 12, 31),
        channel="demo",
    )
    if policy.enrolment is None or person.scheme is Scheme.EMPLOYEE:
        return enrolment
    split = premium_for(policy.enrolment, person.scheme.value, year, person.assistance)
    return replace(
        enrolment,
        personal=split.personal,
        subsidy=split.subsidy,
        assistance=split.assistance,
        paid_on=date(year - 1, 10, 20),
    )


def _summary(
    policy: RegionPolicy,
    year: int,
    seed: int,
    places: list[Institution],
    items: list[CatalogueItem],
    people: list[DemoPerson],
) -> DemoSummary:
    jan1 = date(year, 1, 1)
    by_id = sorted(people, key=lambda p: p.id)
    children = [p for p in by_id if p.role == "child"]
    lost = [p for p in by_id if p.card_status is CardStatus.LOST]
    usable = [p for p in by_id if p.card_status is CardStatus.ACTIVE]
    min_years = _min_contribution_years(policy, year)
    pilot_age = _pilot_age(policy, year)

    def first(test: Callable[[DemoPerson], bool]) -> DemoPerson | None:
        return next((p for p in usable if test(p)), None)

    child = first(lambda p: p.role == "child" and _age(p.birth_date, jan1) <= pilot_age)
    employee = first(
        lambda p: (
            p.scheme is Scheme.EMPLOYEE
            and not p.retired
            and p.approval is None
            and p.filing is None
        )
    )
    approved = first(lambda p: p.role == "resident" and p.approval is not None)
    short = first(lambda p: p.retired and (p.contribution_years or 0) < min_years)
    filed = first(lambda p: p.filing is not None)
    return DemoSummary(
        region=policy.code,
        year=year,
        seed=seed,
        institutions=len(places),
        catalogue_items=len(items),
        persons=len(people),
        children=len(children),
        guardians=sum(1 for p in children if p.guardian is not None),
        assistance=sum(1 for p in people if p.assistance),
        cards=len(people),
        lost_cards=len(lost),
        approvals=sum(1 for p in people if p.approval is not None),
        filings=sum(1 for p in people if p.filing is not None),
        child=_sample(child, f"child aged {pilot_age} or under on {jan1.isoformat()}"),
        employee=_sample(employee, "working employee"),
        approved=_sample(
            approved,
            "approved special disease"
            if approved is None or approved.approval is None
            else f"approved {approved.approval.disease} at {approved.approval.hospital}",
        ),
        retiree_short=_sample(short, f"retired, fewer than {min_years} contribution years"),
        lost_card=_sample(lost[0] if lost else None, "card reported lost"),
        filed=_sample(filed, f"remote-treatment filing to {OTHER_REGION}"),
    )


def _min_contribution_years(policy: RegionPolicy, year: int) -> int:
    rules = policy.schemes.get(Scheme.EMPLOYEE.value)
    if rules is None or rules.retiree_min_contribution_years is None:
        return 20
    try:
        return rules.retiree_min_contribution_years.at(date(year, 1, 1)).value
    except PolicyGapError:
        return 20


def _pilot_age(policy: RegionPolicy, year: int) -> int:
    if policy.pilot is None:
        return 14
    try:
        return policy.pilot.max_age.at(date(year, 1, 1)).value
    except PolicyGapError:
        return 14


def _write(
    uow: UnitOfWork,
    part: _Region,
    year: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    """A region's rows, through the registry's bulk writes: persons, their enrolments
    and cards a batch at a time (one INSERT each), then guardians, approvals, filings."""
    policy = part.policy
    registry = uow.registry
    registry.add_region(policy.code, policy.name.zh, policy.name.en, policy.admdvs)
    for place in part.places:
        registry.add_institution(place)
    registry.add_catalogue_items(policy.code, part.items)
    people = part.people
    for start in range(0, len(people), BATCH):
        batch = people[start : start + BATCH]
        registry.add_persons([_record(policy, p) for p in batch])
        registry.add_enrolments([_enrolment(policy, p, year) for p in batch])
        registry.add_cards([Card(p.card, p.id, p.card_status, p.issued_on) for p in batch])
        if progress is not None:
            progress(start + len(batch), len(people))
    links = [(p.id, p.guardian.id) for p in people if p.guardian is not None]
    for start in range(0, len(links), BATCH):  # once both sides are written
        registry.add_guardians(links[start : start + BATCH])
    for p in people:  # a few in a hundred
        if p.approval is not None:
            registry.add_approval(p.id, p.approval)
        if p.filing is not None:
            registry.add_filing(p.id, p.filing)


def _write_other_city(uow: UnitOfWork) -> None:
    """other-city, data only: its region row, catalogue and hospitals (once)."""
    code, zh, en, admdvs = OTHER_CITY
    if uow.registry.institution(_OTHER_INSTITUTIONS[0][0]) is not None:
        return
    uow.registry.add_region(code, zh, en, admdvs)
    for place in _other_city():
        uow.registry.add_institution(place)
    uow.registry.add_catalogue_items(code, catalogue())


def _record(policy: RegionPolicy, p: DemoPerson) -> PersonRecord:
    return PersonRecord(
        p.id,
        p.id_number,
        p.name,
        p.birth_date,
        p.sex,
        policy.code,
        p.phone,
        p.assistance,
        p.retired,
        p.contribution_years,
    )
