"""Reading the "Thời gian thực hiện" (period) column of a Vietnamese plan.

Provincial plans state when a task happens in free Vietnamese text: "Tháng 3/2024",
"Quý III/2024", "6 tháng đầu năm 2024", "Từ ngày 01/3/2024 đến ngày 31/5/2024",
"Trước ngày 30/6/2024" and so on. `parse_period` turns such a phrase into a date
span. It never guesses: a phrase is either read completely by the small grammar
below, or kept verbatim and flagged (``understood=False``) for a person to date.

Grammar, on text that has been NFC-normalised, case-folded, had its dashes unified,
its whitespace collapsed and one trailing '.' or ';' removed::

    phrase := [prefix] atom (separator atom)*
    prefix := "từ" | "trong" | "trước" | "chậm nhất"
    separator := "-" | "đến" | "đến hết" | "tới"     (range)
               | "," | "và"                           (list)
    atom   := "tháng" M [year] | "quý" Q [year]       (Q: I-IV or 1-4)
            | bare M or Q [year]                      (after a tháng/quý atom: same unit)
            | "6 tháng đầu/cuối năm" Y
            | ["cả"] "năm" Y | bare Y                 (bare Y only after a year atom)
            | ["ngày"] D/M/Y | "ngày" D/M | "ngày" D "tháng" M ["năm" Y]
    year   := "/" Y | "năm" Y

A month or quarter without a year takes the year of the atom right after it
("Tháng 11, 12/2024"), and a "ngày" date without a year takes the next date's year.
A range covers its first atom's start to its second atom's end; a list, which must
be in ascending order, covers its first item's start to its last item's end.
"""
from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from typing import Final, Literal

__all__ = ["MAX_YEAR", "MIN_YEAR", "Period", "parse_period"]

MIN_YEAR: Final = 1900
MAX_YEAR: Final = 2200


@dataclass(frozen=True)
class Period:
    """A period phrase, and the dates it covers when it could be read."""

    text: str  # verbatim, so the flagged phrase a person sees is the one they wrote
    start: date | None
    end: date | None
    understood: bool  # False => kept as text and flagged for a person; start/end None

    def __post_init__(self) -> None:
        # Callers schedule from these dates, so an inconsistent Period must not exist.
        if not self.understood and (self.start is not None or self.end is not None):
            raise ValueError("a period that was not understood carries no dates")
        if self.understood and self.start is None and self.end is None:
            raise ValueError("an understood period needs at least one date")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError("a period cannot start after it ends")


_Kind = Literal["month", "quarter", "date", "year", "half"]


@dataclass(frozen=True)
class _Atom:
    """One dated unit of a phrase, before its year is known for certain."""

    kind: _Kind
    parts: tuple[str, ...]  # raw tokens: (month,), (quarter,), (day, month), (half,), ()
    year: int | None


# [0-9] rather than \d: \d also accepts Arabic-Indic and other digits, and a period
# typed with those is far more likely to be garbage than a real plan.
_NUM = r"([0-9]{1,2})(?![0-9])"
_YEAR = r"([0-9]{4})(?![0-9])"
_YEAR_TAIL = rf"(?:\s*/\s*{_YEAR}|\s*năm\s*{_YEAR})?"
# Roman numerals are matched loosely here and checked later, so "Quý V" is flagged
# rather than silently read as something else.
_UNIT_NUMBER = r"([0-9]{1,2}(?![0-9])|[ivxlcdm]+(?!\w))"

_HALF = re.compile(rf"(?:0?6|sáu)\s*tháng\s*(đầu|cuối)\s*năm\s*{_YEAR}")
_DATE_NUMERIC = re.compile(rf"(?:ngày\s*)?{_NUM}\s*/\s*{_NUM}\s*/\s*{_YEAR}")
# A date without a year needs the word "ngày", otherwise "3/5" could be a month/year.
# The lookahead stops "ngày 1/3/24" from being read as "ngày 1/3" plus leftovers.
_DATE_NGAY = re.compile(rf"ngày\s*{_NUM}\s*(?:/|tháng)\s*{_NUM}{_YEAR_TAIL}(?!\s*/)")
_UNIT_KEYWORD = re.compile(rf"(tháng|quý|quí|qúy)\s*{_UNIT_NUMBER}{_YEAR_TAIL}")
_UNIT_BARE = re.compile(rf"{_UNIT_NUMBER}{_YEAR_TAIL}")
_YEAR_KEYWORD = re.compile(rf"(?:cả\s*)?năm\s*{_YEAR}")
_YEAR_BARE = re.compile(_YEAR)

_PREFIX = re.compile(r"(từ|trong|trước|chậm nhất)(?!\w)\s*")
_SEPARATOR = re.compile(r"\s*(?:(-|,)|(?<!\w)(đến hết|đến|tới|và)(?!\w))\s*")
_RANGE_SEPARATORS: Final = frozenset({"-", "đến hết", "đến", "tới"})

_ROMAN_QUARTERS: Final = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_DASHES = str.maketrans({"–": "-", "—": "-", "−": "-", "‐": "-", "‑": "-", "ð": "đ"})


def parse_period(text: str) -> Period:
    """Read a Vietnamese period phrase; flag it instead of guessing when unsure."""
    span = _read(_normalise(text))
    if span is None:
        return Period(text=text, start=None, end=None, understood=False)
    start, end = span
    return Period(text=text, start=start, end=end, understood=True)


def _normalise(text: str) -> str:
    # Word processors emit both composed and decomposed Vietnamese; casefold can
    # itself decompose a few letters, hence NFC on both sides of it.
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    # "ð" (eth) is a common look-alike of "đ" in text pasted from old fonts.
    collapsed = " ".join(folded.translate(_DASHES).split())
    # One closing '.' or ';' is just how list items end; "..." or a trailing comma
    # suggests the cell was cut short, so those are left to fail and be flagged.
    if collapsed.endswith((".", ";")) and not collapsed.endswith(".."):
        collapsed = collapsed[:-1].rstrip()
    return collapsed


def _read(phrase: str) -> tuple[date | None, date | None] | None:
    prefix, rest = _split_prefix(phrase)
    lexed = _lex(rest)
    if lexed is None:
        return None
    atoms, separators = lexed
    atoms = _resolve_years(atoms)
    if atoms is None:
        return None
    if prefix in ("trước", "chậm nhất"):
        return _deadline(atoms)
    groups = _group(atoms, separators)
    # "Từ ..." promises exactly one "from X to Y"; "Từ tháng 3/2024" alone is open-ended.
    if groups is None or (prefix == "từ" and (len(groups) != 1 or len(groups[0]) != 2)):
        return None
    return _span_of_groups(groups)


def _split_prefix(phrase: str) -> tuple[str | None, str]:
    match = _PREFIX.match(phrase)
    if match is None:
        return None, phrase
    return match.group(1), phrase[match.end():]


def _lex(phrase: str) -> tuple[list[_Atom], list[str]] | None:
    """Split the whole phrase into atoms and separators, or give up entirely."""
    atoms: list[_Atom] = []
    separators: list[str] = []
    position = 0
    while True:
        lexed = _next_atom(phrase, position, atoms[-1] if atoms else None)
        if lexed is None:
            return None
        atom, position = lexed
        atoms.append(atom)
        if position == len(phrase):
            return atoms, separators
        separator = _SEPARATOR.match(phrase, position)
        if separator is None:
            return None
        separators.append(separator.group(1) or separator.group(2))
        position = separator.end()


def _next_atom(phrase: str, position: int, previous: _Atom | None) -> tuple[_Atom, int] | None:
    # Longer, more specific forms first: "6 tháng đầu năm" must not be read as month 6.
    if match := _HALF.match(phrase, position):
        return _Atom("half", (match.group(1),), int(match.group(2))), match.end()
    if match := _DATE_NUMERIC.match(phrase, position):
        return _Atom("date", (match.group(1), match.group(2)), int(match.group(3))), match.end()
    if match := _DATE_NGAY.match(phrase, position):
        year = match.group(3) or match.group(4)
        return _Atom("date", (match.group(1), match.group(2)), _int_or_none(year)), match.end()
    if match := _UNIT_KEYWORD.match(phrase, position):
        kind: _Kind = "month" if match.group(1) == "tháng" else "quarter"
        return _unit_atom(kind, match.group(2), match.group(3) or match.group(4)), match.end()
    if match := _YEAR_KEYWORD.match(phrase, position):
        return _Atom("year", (), int(match.group(1))), match.end()
    return _continuation_atom(phrase, position, previous)


def _continuation_atom(phrase: str, position: int, previous: _Atom | None) -> tuple[_Atom, int] | None:
    """A bare number only means something as a continuation: "Tháng 3-5", "Năm 2024-2025"."""
    if previous is not None and previous.kind in ("month", "quarter"):
        if match := _UNIT_BARE.match(phrase, position):
            return _unit_atom(previous.kind, match.group(1), match.group(2) or match.group(3)), match.end()
    if previous is not None and previous.kind == "year":
        if match := _YEAR_BARE.match(phrase, position):
            return _Atom("year", (), int(match.group(1))), match.end()
    return None


def _unit_atom(kind: _Kind, number: str, year: str | None) -> _Atom:
    return _Atom(kind, (number,), _int_or_none(year))


def _int_or_none(digits: str | None) -> int | None:
    return None if digits is None else int(digits)


def _resolve_years(atoms: list[_Atom]) -> list[_Atom] | None:
    """Give yearless atoms the year of the atom right after them, as Vietnamese does."""
    resolved: list[_Atom] = []
    following: _Atom | None = None
    for atom in reversed(atoms):
        if atom.year is None:
            # Borrowing across kinds ("Tháng 3 - ngày 5/6/2024") would be a guess.
            if following is None or _family(following) != _family(atom):
                return None
            atom = replace(atom, year=following.year)
        resolved.append(atom)
        following = atom
    resolved.reverse()
    return resolved


def _family(atom: _Atom) -> str:
    return "date" if atom.kind == "date" else "unit" if atom.kind in ("month", "quarter") else atom.kind


def _deadline(atoms: list[_Atom]) -> tuple[date | None, date | None] | None:
    # Only an exact day makes a deadline; "Trước tháng 6" could mean May or June.
    if len(atoms) != 1 or atoms[0].kind != "date":
        return None
    span = _span_of_atom(atoms[0])
    return None if span is None else (None, span[1])


def _group(atoms: list[_Atom], separators: list[str]) -> list[list[_Atom]] | None:
    """Join range endpoints into groups; list separators start a new group."""
    groups = [[atoms[0]]]
    for separator, atom in zip(separators, atoms[1:]):
        if separator in _RANGE_SEPARATORS:
            groups[-1].append(atom)
        else:
            groups.append([atom])
    # "Tháng 3-5-7" has no single sensible reading.
    return groups if all(len(group) <= 2 for group in groups) else None


def _span_of_groups(groups: list[list[_Atom]]) -> tuple[date, date] | None:
    spans: list[tuple[date, date]] = []
    for group in groups:
        span = _span_of_group(group)
        # A list out of order or overlapping ("Tháng 5, 3/2024") is likely a typo.
        if span is None or (spans and span[0] <= spans[-1][1]):
            return None
        spans.append(span)
    return spans[0][0], spans[-1][1]


def _span_of_group(group: list[_Atom]) -> tuple[date, date] | None:
    first = _span_of_atom(group[0])
    last = _span_of_atom(group[-1])
    if first is None or last is None:
        return None
    # Both ends must move forward, so "Quý III - tháng 8" is flagged, not truncated.
    if first[0] > last[0] or first[1] > last[1]:
        return None
    return first[0], last[1]


def _span_of_atom(atom: _Atom) -> tuple[date, date] | None:
    year = atom.year
    if year is None or not MIN_YEAR <= year <= MAX_YEAR:
        return None
    if atom.kind == "year":
        return date(year, 1, 1), date(year, 12, 31)
    if atom.kind == "half":
        return _months(year, 1, 6) if atom.parts[0] == "đầu" else _months(year, 7, 12)
    if atom.kind == "quarter":
        quarter = _quarter_number(atom.parts[0])
        return None if quarter is None else _months(year, 3 * quarter - 2, 3 * quarter)
    if atom.kind == "month":
        month = _month_number(atom.parts[0])
        return None if month is None else _months(year, month, month)
    return _day(year, atom.parts)


def _quarter_number(token: str) -> int | None:
    number = int(token) if token.isdigit() else _ROMAN_QUARTERS.get(token)
    return number if number is not None and 1 <= number <= 4 else None


def _month_number(token: str) -> int | None:
    # Roman months are not a Vietnamese convention, so "tháng iii" is flagged.
    if not token.isdigit() or not 1 <= int(token) <= 12:
        return None
    return int(token)


def _day(year: int, parts: tuple[str, ...]) -> tuple[date, date] | None:
    day, month = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    return date(year, month, day), date(year, month, day)


def _months(year: int, first_month: int, last_month: int) -> tuple[date, date]:
    last_day = calendar.monthrange(year, last_month)[1]
    return date(year, first_month, 1), date(year, last_month, last_day)
