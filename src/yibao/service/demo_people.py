"""The demo's population: insured persons with valid resident ID numbers, names as
common as they are, guardians for the children, enrolment schemes the region offers,
special-disease approvals, remote-treatment filings and lost cards, all from one seed."""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate

from yibao.domain.ids import make_resident_id
from yibao.domain.model import Approval, Filing, Scheme
from yibao.domain.parameters import PolicyGapError, RegionPolicy
from yibao.domain.registry import CardStatus
from yibao.service.errors import ServiceError

OTHER_REGION = "other-city"  # the neighbouring region of the demo (data only: no persons)

# Where an approved special disease is treated (level-3 hospitals of the region).
_DISEASE_HOSPITALS: dict[str, tuple[str, ...]] = {
    "malignant_tumor": ("H3-004", "H3-004", "H3-001"),
    "dialysis": ("H3-001", "H3-003"),
    "kidney_transplant": ("H3-001",),
}
_DISEASE_WEIGHTS: dict[str, int] = {"malignant_tumor": 50, "dialysis": 35, "kidney_transplant": 15}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_SURNAMES = _words(
    "王71 李70 张68 刘54 陈46 杨31 黄24 赵23 吴20 周19 徐15 孙15 马14 朱13 胡13 郭12 何12 "
    "高11 林11 罗10 郑9 梁9 谢8 宋7 唐7 许7 韩7 冯7 邓7 曹6 彭6 曾6 肖6 田5 董5 袁5 潘5 "
    "于5 蒋5 蔡5 余5 杜5 叶4 程4 苏4 魏4 吕4 丁4 任4 沈4 姚4 卢3 姜3 崔3 钟3 谭3 陆3 汪3 "
    "范3 金3 石3 廖3 贾3 夏3 韦3 付3 方3 白3 邹3 孟3 熊3 秦3 邱3 江3 尹3 薛2 闫2 段2 雷2 "
    "侯2 龙2 史2 陶2 黎2 贺2 顾2 毛2 郝2 龚2 邵2 万2 钱2 欧阳1 司马1"
)
_SURNAME_LIST = [s.rstrip("0123456789") for s in _SURNAMES]  # weights: per mille, roughly
_SURNAME_CUM = list(
    accumulate(int(s[len(n) :]) for s, n in zip(_SURNAMES, _SURNAME_LIST, strict=True))
)

# Given names by the decade people were born in (before 1960, 1960s-70s, 1980s-90s,
# 2000 on) and sex.
_GIVEN: dict[tuple[int, str], tuple[str, ...]] = {
    (0, "M"): _words(
        "建国 国华 德明 志强 振华 长生 福全 金山 树林 广才 富贵 永祥 保国 文彬 桂林 玉成"
    ),
    (0, "F"): _words("秀英 桂兰 玉兰 淑珍 秀兰 凤英 玉珍 桂英 秀珍 淑英 翠花 兰英 素芬 玉梅 桂芳"),
    (1, "M"): _words("建军 卫东 红兵 建平 志刚 海涛 立新 国强 伟 勇 军 斌 刚 强 明 辉 建华"),
    (1, "F"): _words("红梅 丽华 建英 丽 霞 燕 敏 静 红 艳 玲 丽娟 春花 秀梅 美玲"),
    (2, "M"): _words("磊 鹏 杰 涛 超 浩 宇 俊杰 志伟 晓东 建伟 鑫 晨 帅 亮 博 文涛"),
    (2, "F"): _words("婷婷 丹 晶 倩 莉 雪 佳 静怡 晓燕 娜 颖 丽娜 欢 慧 琳 思琪"),
    (3, "M"): _words(
        "子轩 浩然 宇轩 梓豪 俊熙 一诺 子墨 皓轩 宇航 奕辰 铭泽 睿 沐阳 锦程 思源 嘉懿"
    ),
    (3, "F"): _words(
        "子涵 梓萱 欣怡 语桐 诗涵 一诺 雨桐 可馨 思彤 若汐 梓涵 依诺 佳怡 欣妍 紫萱 沐晴"
    ),
}

_PHONE_PREFIXES = _words(
    "130 131 132 133 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "166 177 180 181 182 183 185 186 187 188 189 191 198 199"
)


def _era(born: date) -> int:
    return 0 if born.year < 1960 else 1 if born.year < 1980 else 2 if born.year < 2000 else 3


# --- the population -----------------------------------------------------------------


@dataclass(eq=False)
class DemoPerson:
    role: str  # child | resident | employee
    birth_date: date
    sex: str
    scheme: Scheme
    retired: bool = False
    contribution_years: int | None = None
    surname: str = ""
    name: str = ""
    guardian: DemoPerson | None = None
    children: list[DemoPerson] = field(default_factory=list)
    assistance: bool = False
    phone: str | None = None
    id: str = ""
    id_number: str = ""
    card: str = ""
    card_status: CardStatus = CardStatus.ACTIVE
    issued_on: date | None = None
    approval: Approval | None = None
    filing: Filing | None = None


def _share(n: int, share: float) -> int:
    """round(n * share), half up (not to even), so small loads still get their few."""
    return int(n * share + 0.5)


def _day(rng: random.Random, first: date, last: date) -> date:
    return date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))


def _born(rng: random.Random, year: int, age: int) -> date:
    """A birth date making the person `age` in completed years on 1 January of `year`."""
    return _day(rng, date(year - age - 1, 1, 2), date(year - age, 1, 1))


class Population:
    """Builds the persons of one load from one random generator, in a fixed order."""

    def __init__(
        self,
        policy: RegionPolicy,
        year: int,
        seed: int,
        elsewhere: str = OTHER_REGION,
        place: Callable[[str], str] = str,
    ) -> None:
        """`elsewhere`: the region the persons' filings name; `place`: a local
        institution's id in this load (a neighbouring region's are prefixed)."""
        self.policy = policy
        self.elsewhere = elsewhere
        self.place = place
        self.year = year
        self.rng = random.Random(seed)
        self.jan1 = date(year, 1, 1)
        self.dec31 = date(year, 12, 31)
        try:
            offered = policy.offered.at(self.jan1).value
        except PolicyGapError as exc:
            raise ServiceError(
                "no_policy_for_year",
                f"{policy.code} has no policy in force on {self.jan1.isoformat()}: {exc}",
                region=policy.code,
                year=year,
            ) from None
        self.offered = offered
        self.used_sequences: set[tuple[date, int]] = set()

    def _scheme(self, *preferred: Scheme) -> Scheme:
        for scheme in preferred:
            if scheme.value in self.offered:
                return scheme
        raise ServiceError(
            "demo_no_scheme",
            f"{self.policy.code} offers none of {', '.join(s.value for s in preferred)} in {self.year}",
            region=self.policy.code,
        )

    def _sex(self) -> str:
        return "M" if self.rng.random() < 0.5 else "F"

    def build(self, n: int) -> list[DemoPerson]:
        rng = self.rng
        n_child = _share(n, 0.30)
        n_employee = _share(n, 0.40)
        n_resident = n - n_child - n_employee
        employees_offered = Scheme.EMPLOYEE.value in self.offered
        adult_scheme = self._scheme(Scheme.RESIDENT, Scheme.STUDENT)
        child_scheme = self._scheme(Scheme.STUDENT, Scheme.RESIDENT)
        adults: list[DemoPerson] = []
        for _ in range(n_resident):
            # Elderly, unemployed and disabled residents: many of them old.
            age = _old_age(rng, 60) if rng.random() < 0.5 else rng.randint(18, 59)
            adults.append(
                DemoPerson("resident", _born(rng, self.year, age), self._sex(), adult_scheme)
            )
        for _ in range(n_employee):
            sex = self._sex()
            retire_at = 60 if sex == "M" else 55
            if rng.random() < 0.28:
                age = _old_age(rng, retire_at)
                if rng.random() < 0.08:  # retired with too few contribution years
                    years = rng.randint(8, 19)
                else:
                    years = rng.randint(20, min(42, age - 18))
                retired = True
            else:
                age = rng.randint(22, retire_at - 1)
                years = rng.randint(1, age - 20)
                retired = False
            if employees_offered:
                adults.append(
                    DemoPerson(
                        "employee", _born(rng, self.year, age), sex, Scheme.EMPLOYEE, retired, years
                    )
                )
            else:  # the region runs residents' insurance only
                adults.append(DemoPerson("resident", _born(rng, self.year, age), sex, adult_scheme))
        for p in adults:
            p.surname = self._surname()
        children = [self._child(child_scheme) for _ in range(n_child)]
        self._link_guardians(children, adults)
        everyone = adults + children
        for p in everyone:
            p.name = p.surname + rng.choice(_GIVEN[_era(p.birth_date), p.sex])
        self._assistance(adults, n)
        rng.shuffle(everyone)
        self._identify(everyone)
        return everyone

    def _surname(self) -> str:
        return self.rng.choices(_SURNAME_LIST, cum_weights=_SURNAME_CUM)[0]

    def _child(self, scheme: Scheme) -> DemoPerson:
        # Born from 17 to 2 years before the year's 1 January (2009-2024 for 2026).
        born = _day(self.rng, date(self.year - 17, 1, 1), date(self.year - 2, 12, 31))
        return DemoPerson("child", born, self._sex(), scheme)

    def _link_guardians(self, children: list[DemoPerson], adults: list[DemoPerson]) -> None:
        """Each child gets one adult, 20 to 45 years older where there is one, and at most
        three children to an adult where possible; the child takes the adult's surname."""
        if not children:
            return
        rng = self.rng
        by_birth = sorted(adults, key=lambda a: a.birth_date)  # stable: same order each run
        births = [a.birth_date for a in by_birth]
        for child in children:
            lo = bisect.bisect_left(births, _years_before(child.birth_date, 45))
            hi = bisect.bisect_right(births, _years_before(child.birth_date, 20))
            if lo >= hi:  # nobody of parent age: the youngest older one, or the oldest
                lo = max(lo - 1, 0)
                hi = lo + 1
            guardian = by_birth[rng.randrange(lo, hi)]
            for _ in range(8):
                if len(guardian.children) < 3:
                    break
                guardian = by_birth[rng.randrange(lo, hi)]
            child.guardian = guardian
            child.surname = guardian.surname
            guardian.children.append(child)

    def _assistance(self, adults: list[DemoPerson], n: int) -> None:
        """About 5% of persons in low-income or special-hardship families: adult residents
        and the children in their care."""
        target = _share(n, 0.05)
        candidates = [a for a in adults if a.role == "resident"]
        self.rng.shuffle(candidates)
        count = 0
        for adult in candidates:
            if count >= target:
                break
            for member in (adult, *adult.children):
                member.assistance = True
            count += 1 + len(adult.children)

    def _identify(self, everyone: list[DemoPerson]) -> None:
        rng = self.rng
        prefix = region_prefix(self.policy.code)
        card_numbers = rng.sample(range(10**9, 10**10), len(everyone))
        for i, p in enumerate(everyone, start=1):
            p.id = f"{prefix}-{i:06d}"
            while True:  # odd for men, even for women, never used twice for a birth date
                sequence = rng.randrange(0, 499) * 2 + (1 if p.sex == "M" else 2)
                if (p.birth_date, sequence) not in self.used_sequences:
                    self.used_sequences.add((p.birth_date, sequence))
                    break
            p.id_number = make_resident_id(self.policy.admdvs, p.birth_date, sequence)
            p.card = f"{prefix}{card_numbers[i - 1]:010d}"
            issued = _day(rng, date(self.year - 6, 1, 1), date(self.year - 1, 11, 30))
            p.issued_on = max(issued, p.birth_date + timedelta(days=60))
        for p in everyone:  # a child's contact is the guardian's phone
            if p.role != "child":
                p.phone = rng.choice(_PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        for p in everyone:
            if p.guardian is not None:
                p.phone = p.guardian.phone

    def certify(self, everyone: list[DemoPerson]) -> None:
        """Approvals (~2% of adults), filings (~0.5% of persons), lost cards (~1%)."""
        rng = self.rng
        adults = [p for p in everyone if p.role != "child"]
        by_scheme = {
            s: [p for p in adults if p.scheme is s] for s in (Scheme.RESIDENT, Scheme.EMPLOYEE)
        }
        for group in by_scheme.values():
            if not group:
                continue
            for p in rng.sample(group, max(1, _share(len(group), 0.02))):
                p.approval = self._approval(p)
        others = [p for p in adults if p.approval is None]
        for p in rng.sample(others, min(len(others), max(1, _share(len(everyone), 0.005)))):
            p.filing = Filing(
                self.elsewhere,
                _day(rng, date(self.year - 1, 3, 1), self.jan1),
                self.dec31,
            )
        plain = [p for p in everyone if p.approval is None and p.filing is None]
        for p in rng.sample(plain, min(len(plain), _share(len(everyone), 0.01))):
            p.card_status = CardStatus.LOST

    def _approval(self, p: DemoPerson) -> Approval | None:
        rules = self.policy.schemes.get(p.scheme.value)
        if rules is None or rules.special_outpatient is None:
            return None
        try:
            allowed = rules.special_outpatient.diseases.at(self.jan1).value
        except PolicyGapError:
            return None
        diseases = sorted(allowed)
        if not diseases:
            return None
        weights = [_DISEASE_WEIGHTS.get(d, 10) for d in diseases]
        disease = self.rng.choices(diseases, weights=weights)[0]
        hospital = self.rng.choice(_DISEASE_HOSPITALS.get(disease, ("H3-001", "H3-003")))
        approved = _day(self.rng, date(self.year - 3, 1, 1), date(self.year - 1, 12, 31))
        return Approval(disease, hospital, approved, self.dec31)


def _old_age(rng: random.Random, start: int) -> int:
    """An age from `start` to 95, most of them in the first years (fewer live longer)."""
    return int(rng.triangular(start, 96, start + 2))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def region_prefix(code: str) -> str:
    """Two capitals from a region code, for person ids and card numbers: sample-city: SC."""
    parts = [p for p in code.replace("_", "-").split("-") if p]
    letters = "".join(p[0] for p in parts if p[0].isascii() and p[0].isalpha())
    if len(letters) < 2:
        letters = "".join(c for c in code if c.isascii() and c.isalpha())
    return (letters[:2] or "YB").upper().ljust(2, "X")
