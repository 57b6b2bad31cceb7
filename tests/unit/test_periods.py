"""How the "Thời gian thực hiện" column of a plan becomes dates, or gets flagged."""
from __future__ import annotations

import calendar
import unicodedata
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cms.services.periods import Period, parse_period

PLAN = Path(__file__).parents[2] / "cms/demo/ke-hoach-81-KH-STNMT-2024.txt"
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
YEARS = st.integers(min_value=1900, max_value=2200)
MONTHS = st.integers(min_value=1, max_value=12)
DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def dates_of(text: str) -> tuple[date | None, date | None]:
    period = parse_period(text)
    assert period.understood, f"{text!r} should have been understood"
    return period.start, period.end


def assert_flagged(text: str) -> None:
    period = parse_period(text)
    assert period == Period(text=text, start=None, end=None, understood=False)


def plan_periods() -> dict[int, str]:
    """The period column of each numbered row of the demo plan, read crudely."""
    periods: dict[int, str] = {}
    for line in PLAN.read_text(encoding="utf-8").splitlines():
        cells = line.split("\t")
        if len(cells) == 6 and cells[0].strip().isdigit():
            periods[int(cells[0])] = cells[5].strip()
    return periods


# --- the phrases a plan actually uses ---------------------------------------------

def test_single_month_covers_the_whole_month() -> None:
    assert dates_of("Tháng 3/2024") == (date(2024, 3, 1), date(2024, 3, 31))


def test_month_range_covers_first_day_to_last_day() -> None:
    assert dates_of("Tháng 3-5/2024") == (date(2024, 3, 1), date(2024, 5, 31))


def test_month_list_shares_the_year_written_at_the_end() -> None:
    assert dates_of("Tháng 11, 12/2024") == (date(2024, 11, 1), date(2024, 12, 31))


def test_quarter_three_covers_july_to_september() -> None:
    assert dates_of("Quý III/2024") == (date(2024, 7, 1), date(2024, 9, 30))


def test_quarter_list_covers_first_to_last_quarter() -> None:
    assert dates_of("Quý I, II/2025") == (date(2025, 1, 1), date(2025, 6, 30))


def test_first_six_months_cover_january_to_june() -> None:
    assert dates_of("6 tháng đầu năm 2024") == (date(2024, 1, 1), date(2024, 6, 30))


def test_last_six_months_cover_july_to_december() -> None:
    assert dates_of("6 tháng cuối năm 2024") == (date(2024, 7, 1), date(2024, 12, 31))


@pytest.mark.parametrize("text", ["Năm 2024", "Cả năm 2024"])
def test_a_year_covers_the_whole_year(text: str) -> None:
    assert dates_of(text) == (date(2024, 1, 1), date(2024, 12, 31))


def test_explicit_day_range_is_taken_literally() -> None:
    assert dates_of("Từ ngày 01/3/2024 đến ngày 31/5/2024") == (date(2024, 3, 1), date(2024, 5, 31))


def test_deadline_has_an_end_but_no_start() -> None:
    period = parse_period("Trước ngày 30/6/2024")
    assert period == Period("Trước ngày 30/6/2024", None, date(2024, 6, 30), understood=True)


def test_the_original_phrase_is_kept_verbatim() -> None:
    text = "  THÁNG 03 / 2024. "
    assert parse_period(text).text == text


# --- the same meaning written differently -----------------------------------------

@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("tháng 3/2024", date(2024, 3, 1), date(2024, 3, 31)),
        ("THÁNG 3/2024", date(2024, 3, 1), date(2024, 3, 31)),
        (unicodedata.normalize("NFD", "Tháng 3/2024"), date(2024, 3, 1), date(2024, 3, 31)),
        ("Tháng 03/2024", date(2024, 3, 1), date(2024, 3, 31)),
        ("Tháng3/2024", date(2024, 3, 1), date(2024, 3, 31)),
        ("  Tháng   3 / 2024  ", date(2024, 3, 1), date(2024, 3, 31)),
        ("Tháng\u00a03/2024", date(2024, 3, 1), date(2024, 3, 31)),
        ("tháng 3 năm 2024", date(2024, 3, 1), date(2024, 3, 31)),
        ("Tháng 3/2024.", date(2024, 3, 1), date(2024, 3, 31)),
        ("Tháng 3/2024;", date(2024, 3, 1), date(2024, 3, 31)),
        ("Trong tháng 3/2024", date(2024, 3, 1), date(2024, 3, 31)),
        ("Quý 3/2024", date(2024, 7, 1), date(2024, 9, 30)),
        ("Quí III/2024", date(2024, 7, 1), date(2024, 9, 30)),
        ("quý iii năm 2024", date(2024, 7, 1), date(2024, 9, 30)),
        (unicodedata.normalize("NFD", "QUÝ III/2024"), date(2024, 7, 1), date(2024, 9, 30)),
        ("Quý I-II/2024", date(2024, 1, 1), date(2024, 6, 30)),
        ("Quý IV/2024 - Quý I/2025", date(2024, 10, 1), date(2025, 3, 31)),
        ("Tháng 3 - 5/2024", date(2024, 3, 1), date(2024, 5, 31)),
        ("Tháng 3 – 5/2024", date(2024, 3, 1), date(2024, 5, 31)),
        ("Tháng 3—5/2024", date(2024, 3, 1), date(2024, 5, 31)),
        ("Tháng 3/2024 - Tháng 5/2024", date(2024, 3, 1), date(2024, 5, 31)),
        ("Tháng 3/2024 – 5/2024", date(2024, 3, 1), date(2024, 5, 31)),
        ("Tháng 11/2024 - tháng 2/2025", date(2024, 11, 1), date(2025, 2, 28)),
        ("Từ tháng 3 đến tháng 5/2024", date(2024, 3, 1), date(2024, 5, 31)),
        ("Từ tháng 3 đến hết tháng 5/2024", date(2024, 3, 1), date(2024, 5, 31)),
        ("Từ tháng 3 đến 5/2024", date(2024, 3, 1), date(2024, 5, 31)),
        ("Từ ngày 1/3/2024 đến 31/5/2024", date(2024, 3, 1), date(2024, 5, 31)),
        ("Từ ngày 01/3 đến ngày 31/5/2024", date(2024, 3, 1), date(2024, 5, 31)),
        ("Từ ngày 1 tháng 3 đến ngày 31 tháng 5 năm 2024", date(2024, 3, 1), date(2024, 5, 31)),
        ("01/3/2024 - 31/5/2024", date(2024, 3, 1), date(2024, 5, 31)),
        ("Sáu tháng đầu năm 2024", date(2024, 1, 1), date(2024, 6, 30)),
        ("6 tháng cuối năm2024", date(2024, 7, 1), date(2024, 12, 31)),
        ("Năm 2024 - 2025", date(2024, 1, 1), date(2025, 12, 31)),
        ("Chậm nhất ngày 15/7/2024", None, date(2024, 7, 15)),
        ("trước 30/06/2024.", None, date(2024, 6, 30)),
    ],
)
def test_variant_spellings_read_the_same(text: str, start: date | None, end: date | None) -> None:
    assert dates_of(text) == (start, end)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("Tháng 3, 5/2024", date(2024, 3, 1), date(2024, 5, 31)),
        ("Quý I, III/2024", date(2024, 1, 1), date(2024, 9, 30)),
        ("Tháng 3/2024 và tháng 9/2024", date(2024, 3, 1), date(2024, 9, 30)),
        ("Tháng 3-4, 9/2024", date(2024, 3, 1), date(2024, 9, 30)),
    ],
)
def test_gapped_lists_span_from_first_to_last(text: str, start: date, end: date) -> None:
    assert dates_of(text) == (start, end)


# --- what must go to a person instead ---------------------------------------------

@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        ".",
        "Theo tiến độ",
        "Thường xuyên",
        "Tháng 13/2024",
        "Tháng 0/2024",
        "Ngày 31/2/2024",
        "Từ ngày 30/2/2024 đến ngày 31/5/2024",
        "Quý V/2024",
        "Quý 5/2024",
        "Quý IIII/2024",
        "Tháng III/2024",
        "Tháng 5-3/2024",
        "Quý III-I/2024",
        "Từ ngày 31/5/2024 đến ngày 01/3/2024",
        "Năm 2025 - 2024",
        "Tháng 12 - tháng 2/2025",
        "Tháng 5, 3/2024",
        "Tháng 3, 3/2024",
        "Quý III/2024 - tháng 8/2024",
        "Tháng 3-5-7/2024",
        "Năm 1899",
        "Năm 2201",
        "Tháng 3/24",
        "Tháng 3",
        "Quý III",
        "Tháng 3/2024 (dự kiến)",
        "Tháng 3/2024 và theo tiến độ",
        "Dự kiến tháng 3/2024",
        "Tháng 3/2024 -",
        "Tháng 3/2024,",
        "Tháng 3/2024...",
        "Tháng 3/2024…",
        "Từ tháng 3/2024",
        "Trước tháng 6/2024",
        "Trước ngày 30/6",
        "Tháng 3 - ngày 5/6/2024",
        "2024",
        "Tháng ٣/٢٠٢٤",
    ],
)
def test_unreadable_or_impossible_phrases_are_flagged_not_guessed(text: str) -> None:
    assert_flagged(text)


# --- the real plan ----------------------------------------------------------------

PLAN_PERIODS: dict[int, tuple[str, date, date]] = {
    1: ("Tháng 3/2024", date(2024, 3, 1), date(2024, 3, 31)),
    2: ("Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
    3: ("Tháng 5/2024", date(2024, 5, 1), date(2024, 5, 31)),
    4: ("Tháng 6/2024", date(2024, 6, 1), date(2024, 6, 30)),
    5: ("Tháng 9/2024", date(2024, 9, 1), date(2024, 9, 30)),
    6: ("Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
    7: ("Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
    8: ("Quý III/2024", date(2024, 7, 1), date(2024, 9, 30)),
    9: ("Quý III/2024", date(2024, 7, 1), date(2024, 9, 30)),
    10: ("Tháng 6/2024", date(2024, 6, 1), date(2024, 6, 30)),
    11: ("Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
    12: ("Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
    13: ("Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
    14: ("Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
    15: ("Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
    16: ("Năm 2024", date(2024, 1, 1), date(2024, 12, 31)),
}


def test_demo_plan_has_the_periods_we_expect() -> None:
    assert plan_periods() == {row: text for row, (text, _, _) in PLAN_PERIODS.items()}


@pytest.mark.parametrize("row", sorted(PLAN_PERIODS))
def test_every_period_in_the_plan_is_understood(row: int) -> None:
    text, start, end = PLAN_PERIODS[row]
    assert parse_period(plan_periods()[row]) == Period(text, start, end, understood=True)


# --- properties -------------------------------------------------------------------

@given(month=MONTHS, year=YEARS, padded=st.booleans())
def test_any_month_covers_its_first_to_last_day(month: int, year: int, padded: bool) -> None:
    number = f"{month:02}" if padded else str(month)
    assert dates_of(f"Tháng {number}/{year}") == (date(year, month, 1), month_end(year, month))


@given(
    months=st.lists(MONTHS, min_size=2, max_size=2).map(sorted),
    year=YEARS,
    separator=st.sampled_from(["-", " - ", " – ", "–", " đến ", " đến tháng "]),
)
def test_any_month_range_covers_first_to_last_month(months: list[int], year: int, separator: str) -> None:
    first, last = months
    text = f"Tháng {first}{separator}{last}/{year}"
    assert dates_of(text) == (date(year, first, 1), month_end(year, last))


@given(
    quarters=st.sets(st.integers(min_value=1, max_value=4), min_size=1).map(sorted),
    roman=st.booleans(),
    year=YEARS,
)
def test_any_ascending_quarter_list_spans_first_to_last_quarter(quarters: list[int], roman: bool, year: int) -> None:
    names = ", ".join(ROMAN[q] if roman else str(q) for q in quarters)
    expected = (date(year, 3 * quarters[0] - 2, 1), month_end(year, 3 * quarters[-1]))
    assert dates_of(f"Quý {names}/{year}") == expected


@given(days=st.lists(DATES, min_size=2, max_size=2).map(sorted), padded=st.booleans(), words=st.booleans())
def test_any_day_range_round_trips(days: list[date], padded: bool, words: bool) -> None:
    def written(day: date) -> str:
        return f"{day.day:02}/{day.month:02}/{day.year}" if padded else f"{day.day}/{day.month}/{day.year}"

    second = "đến ngày" if words else "-"
    text = f"Từ ngày {written(days[0])} {second} {written(days[1])}"
    assert dates_of(text) == (days[0], days[1])


@given(days=st.lists(DATES, min_size=2, max_size=2, unique=True).map(lambda pair: sorted(pair, reverse=True)))
def test_day_range_ending_before_it_starts_is_flagged(days: list[date]) -> None:
    later, earlier = days
    assert_flagged(f"Từ ngày {later:%d/%m/%Y} đến ngày {earlier:%d/%m/%Y}")


@given(months=st.lists(MONTHS, min_size=2, max_size=2, unique=True).map(lambda p: sorted(p, reverse=True)), year=YEARS)
def test_month_range_running_backwards_is_flagged(months: list[int], year: int) -> None:
    assert_flagged(f"Tháng {months[0]}-{months[1]}/{year}")


@given(
    quarters=st.lists(st.integers(1, 4), min_size=2, max_size=2, unique=True).map(lambda p: sorted(p, reverse=True)),
    year=YEARS,
)
def test_quarter_range_running_backwards_is_flagged(quarters: list[int], year: int) -> None:
    assert_flagged(f"Quý {ROMAN[quarters[0]]}-{ROMAN[quarters[1]]}/{year}")


@given(year=st.one_of(st.integers(0, 1899), st.integers(2201, 9999)), month=MONTHS)
def test_years_outside_the_supported_range_are_flagged(year: int, month: int) -> None:
    assert_flagged(f"Tháng {month}/{year:04}")


VALID_PHRASES = [
    "Tháng 3/2024", "Tháng 3-5/2024", "Tháng 11, 12/2024", "Quý III/2024", "Quý I, II/2025",
    "6 tháng đầu năm 2024", "6 tháng cuối năm 2024", "Năm 2024", "Cả năm 2024",
    "Từ ngày 01/3/2024 đến ngày 31/5/2024", "Trước ngày 30/6/2024", "Từ tháng 3 đến tháng 5/2024",
]


@given(phrase=st.sampled_from(VALID_PHRASES), data=st.data(), nfd=st.booleans())
def test_case_and_unicode_form_do_not_change_the_reading(phrase: str, data: st.DataObject, nfd: bool) -> None:
    upper = data.draw(st.lists(st.booleans(), min_size=len(phrase), max_size=len(phrase)))
    mangled = "".join(c.upper() if up else c.lower() for c, up in zip(phrase, upper))
    mangled = unicodedata.normalize("NFD", mangled) if nfd else unicodedata.normalize("NFC", mangled)
    assert dates_of(mangled) == dates_of(phrase)


def assert_consistent(text: str) -> None:
    period = parse_period(text)
    assert period.text == text
    if period.understood:
        assert period.start is not None or period.end is not None
        if period.start is not None and period.end is not None:
            assert period.start <= period.end
    else:
        assert period.start is None and period.end is None


@given(st.text())
def test_any_text_is_either_understood_consistently_or_flagged(text: str) -> None:
    assert_consistent(text)


PIECES = ["tháng ", "quý ", "năm ", "ngày ", "từ ", "đến ", "trước ", "cả ", "6 tháng đầu ",
          "i", "v", "x", "/", "-", "–", ",", " và ", " ", ".", "0", "1", "2", "3", "9", "12", "31", "2024", "1899"]


@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
def test_near_miss_phrases_never_crash_or_break_the_invariant(text: str) -> None:
    assert_consistent(text)


# --- the value object itself ------------------------------------------------------

def test_a_flagged_period_cannot_carry_dates() -> None:
    with pytest.raises(ValueError):
        Period("x", date(2024, 1, 1), None, understood=False)


def test_a_period_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError):
        Period("x", date(2024, 2, 1), date(2024, 1, 1), understood=True)
