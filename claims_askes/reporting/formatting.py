"""The dashboard's one locale, Indonesian (id-ID), as small pure functions: thousands with
'.', decimals with ',', rupiah as "Rp 12.500" or, when large, with the unit spelled out
("Rp 250 juta", "Rp 1,5 miliar"), durations in jam (hours) and hari (days), dates in ISO.

Money is Decimal (or int) all the way: no float ever rounds an amount.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

# The spelled-out units, largest first: juta (10^6), miliar (10^9), triliun (10^12).
UNITS: tuple[tuple[str, int], ...] = (
    ("triliun", 10**12),
    ("miliar", 10**9),
    ("juta", 10**6),
)
COMPACT_FROM = 10**6  # below one juta an amount is written in full: "Rp 250.000"
ONE_DECIMAL = Decimal("0.1")
WHOLE = Decimal(1)


def _group(whole: int) -> str:
    """1234567 -> '1.234.567'."""
    return f"{whole:,}".replace(",", ".")


def integer(value: int) -> str:
    """A count: 20000 -> '20.000'."""
    return ("-" if value < 0 else "") + _group(abs(int(value)))


def decimal(value: Decimal | int | float, places: int = 1) -> str:
    """A measure with `places` decimals, trailing zeros kept: 36.5 -> '36,5', 1234.25 ->
    '1.234,3' (half up)."""
    exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    q = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if q < 0 else ""
    whole, _, frac = f"{abs(q):f}".partition(".")
    return sign + _group(int(whole)) + ("," + frac if frac else "")


def percent(part: int, whole: int) -> str:
    """'93,4 %' (one decimal), '-' when there is nothing to divide."""
    if whole <= 0:
        return "-"
    return decimal(Decimal(100) * part / whole) + " %"


def share(part: int, whole: int) -> str:
    """A part and the whole it is of: '93,4 % of 1.234'."""
    return f"{percent(part, whole)} of {integer(whole)}"


def rupiah(amount: Decimal | int) -> str:
    """In full, whole rupiah (half up): 'Rp 1.234.567'."""
    whole = int(Decimal(amount).quantize(WHOLE, rounding=ROUND_HALF_UP))
    return ("-" if whole < 0 else "") + "Rp " + _group(abs(whole))


def rupiah_words(amount: Decimal | int) -> str:
    """For people: below a million in full ('Rp 12.500'), from a million with one decimal
    and the unit spelled out ('Rp 250 juta', 'Rp 1,5 miliar', 'Rp 3 triliun')."""
    exact = Decimal(amount)
    sign = "-" if exact < 0 else ""
    size = abs(exact)
    if size.quantize(WHOLE, rounding=ROUND_HALF_UP) < COMPACT_FROM:
        return sign + rupiah(size)
    # Round in the unit; a value that rounds up to 1.000 of a unit is 1 of the next one.
    for i, (name, scale) in enumerate(reversed(UNITS)):
        shown = (size / scale).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
        last = i == len(UNITS) - 1
        if shown < 1000 or last:
            text = decimal(shown).removesuffix(",0")
            return f"{sign}Rp {text} {name}"
    raise AssertionError("unreachable")  # pragma: no cover


_PARSE = re.compile(r"^(-?)Rp ([0-9.]+)(?:,([0-9]))?(?: (juta|miliar|triliun))?$")


def parse_rupiah(text: str) -> Decimal:
    """The amount a `rupiah` or `rupiah_words` text shows (the rounded amount for the
    compact form): 'Rp 1,5 miliar' -> 1500000000."""
    match = _PARSE.match(text)
    if not match:
        raise ValueError(f"not a rupiah amount: {text!r}")
    sign, whole, frac, unit = match.groups()
    value = Decimal(whole.replace(".", "") + ("." + frac if frac else ""))
    if unit:
        value *= dict(UNITS)[unit]
    return -value if sign else value


def hours(value: float | Decimal | None) -> str:
    """A duration in hours, shown in jam below two days and in hari from there:
    '5,3 jam', '36,0 jam', '4,5 hari'."""
    if value is None:
        return "-"
    h = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if abs(h) < 48:
        return decimal(h) + " jam"
    return decimal(h / 24) + " hari"


def days(value: float | Decimal) -> str:
    """Whole days (half up): 14 -> '14 hari'."""
    return decimal(value, 0) + " hari"


def day(value: datetime) -> str:
    """An ISO date: '2026-12-04'."""
    return f"{value:%Y-%m-%d}"


def moment(value: datetime) -> str:
    """An ISO date and minute in the value's own time zone: '2026-12-04 08:05 WIB'."""
    zone = value.tzname() or ""
    return f"{value:%Y-%m-%d %H:%M}" + (f" {zone}" if zone else "")


def age_bands(bounds: list[int]) -> list[str]:
    """Labels of the age bands that `bounds` (days, increasing) cut:
    [1, 3, 7] -> ['< 1 hari', '1-3 hari', '3-7 hari', '>= 7 hari']."""
    if not bounds:
        return ["semua"]
    labels = [f"< {bounds[0]} hari"]
    labels += [f"{a}-{b} hari" for a, b in zip(bounds, bounds[1:], strict=False)]
    labels.append(f">= {bounds[-1]} hari")
    return labels
