"""Resident identity numbers (GB 11643-1999): 6-digit address code, 8-digit birth date,
3-digit sequence (odd for men, even for women), and an ISO 7064 MOD 11-2 check character.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# ISO 7064 MOD 11-2: the weight of each of the 17 digits, and the character for each
# remainder of their weighted sum by 11 (also used column-wise by batch.load).
WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, ...
CHECK = "10X98765432"


class ResidentIdError(ValueError):
    pass


def check_character(first17: str) -> str:
    """The MOD 11-2 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK[total % 11]


@dataclass(frozen=True)
class ResidentId:
    number: str
    address_code: str
    birth_date: date
    sequence: int

    @property
    def sex(self) -> str:
        return "M" if self.sequence % 2 else "F"


def parse_resident_id(raw: str) -> ResidentId:
    """Validate an 18-character resident ID number; the error says what is wrong."""
    number = raw.strip().upper()
    if len(number) != 18:
        raise ResidentIdError(f"a resident ID number has 18 characters, not {len(number)}")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ResidentIdError("a resident ID number is 17 digits and a digit or X")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ResidentIdError(
            f"the birth date inside the number ({number[6:14]}) is not a date"
        ) from None
    expected = check_character(number[:17])
    if number[17] != expected:
        raise ResidentIdError(f"the check character is {number[17]}, it should be {expected}")
    return ResidentId(number, number[:6], born, int(number[14:17]))


def make_resident_id(address_code: str, birth_date: date, sequence: int) -> str:
    """A valid number for test and demo data."""
    first17 = f"{address_code}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)
