"""The acceptance report's CSV, XLSX and PDF: the same figures in each, readable Vietnamese, a valid A4 document.

Each file is read back the way its reader would (csv, openpyxl, pypdf) and compared with
the report it was made from, never with the exporter's own helpers.
"""
from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from openpyxl import load_workbook
from pypdf import PdfReader

from cms.services import report_exports as rx
from cms.services.acceptance import AcceptanceReport, Frame
from report_samples import empty_report, reports, sample_report

A4_POINTS = (595.28, 841.89)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def squashed(text: str) -> str:
    """Text without any whitespace: a name wrapped inside a table cell comes out of the
    PDF with its line break dropped or kept, so words are compared letter for letter."""
    return "".join(nfc(text).split())


def pdf_pages(data: bytes) -> list[str]:
    return [nfc(page.extract_text()) for page in PdfReader(io.BytesIO(data)).pages]


def csv_sections(data: bytes) -> dict[str, list[list[str]]]:
    """Title row -> the rows under it, up to the blank row that ends the section."""
    sections: dict[str, list[list[str]]] = {}
    current: str | None = None
    for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")):
        if not row:
            current = None
        elif current is None:
            current = row[0]
            sections[current] = []
        else:
            sections[current].append(row)
    return sections


Figures = tuple[int, int, float]  # planned, delivered, airtime hours


def csv_board_figures(data: bytes) -> tuple[dict[str, Figures], Figures]:
    header, *rows, total = csv_sections(data)[rx.SECTION_BOARDS]
    assert header == list(rx.BOARD_COLUMNS)
    assert total[0] == rx.TOTAL_LABEL
    per_board = {row[0]: (int(row[3]), int(row[4]), float(row[6])) for row in rows}
    return per_board, (int(total[3]), int(total[4]), float(total[6]))


def xlsx_board_figures(data: bytes) -> tuple[dict[str, Figures], Figures]:
    sheet = load_workbook(io.BytesIO(data))[rx.SHEET_BOARDS]
    header, *rows, total = list(sheet.iter_rows(values_only=True))
    assert list(header) == list(rx.BOARD_COLUMNS)
    assert total[0] == rx.TOTAL_LABEL
    for value in total[3:5] + total[6:7]:
        assert isinstance(value, (int, float)), "the totals row holds values, not formulas"
    per_board = {row[0]: (row[3], row[4], row[6]) for row in rows}
    return per_board, (total[3], total[4], total[6])


def report_board_figures(report: AcceptanceReport) -> tuple[dict[str, Figures], Figures]:
    per_board = {nfc(b.code): (b.totals.planned, b.totals.delivered, b.totals.airtime_seconds / 3600)
                 for b in report.boards}
    t = report.totals
    return per_board, (t.planned, t.delivered, t.airtime_seconds / 3600)


def assert_same_figures(found: tuple[dict[str, Figures], Figures], expected: tuple[dict[str, Figures], Figures],
                        ) -> None:
    (boards, total), (want_boards, want_total) = found, expected
    assert boards.keys() == want_boards.keys()
    for code, (planned, delivered, hours) in want_boards.items():
        assert boards[code][:2] == (planned, delivered), code
        assert boards[code][2] == pytest.approx(hours, abs=0.0005), code
    assert total[:2] == want_total[:2]
    assert total[2] == pytest.approx(want_total[2], abs=0.0005)


@pytest.fixture(scope="module")
def report() -> AcceptanceReport:
    return sample_report()


@pytest.fixture(scope="module")
def pdf_bytes(report: AcceptanceReport) -> bytes:
    return rx.to_pdf(report)


def test_pdf_shows_the_vietnamese_headings_and_every_board_name(report: AcceptanceReport, pdf_bytes: bytes) -> None:
    pages = pdf_pages(pdf_bytes)
    text = "\n".join(pages)
    for heading in (rx.NATION, rx.MOTTO, rx.TITLE, rx.SECTION_SUMMARY, rx.SECTION_BOARDS, rx.SECTION_CHART,
                    rx.SECTION_GAPS, rx.SECTION_CHAINS, rx.SECTION_FRAMES, rx.PDF_AUTHOR_SIGNER,
                    rx.PDF_HEAD_SIGNER, rx.PDF_SIGN_HINT, rx.PDF_RECIPIENTS, *rx.PDF_RECIPIENT_LINES):
        assert nfc(heading) in text, heading
    assert "SỞ TÀI NGUYÊN VÀ MÔI" in pages[0]  # the organisation, upper-cased, top left
    assert "Bà Rịa – Vũng Tàu, ngày 05 tháng 04 năm 2024" in pages[0]
    assert "Bảng LED Ngã tư Hàng Xanh" in text  # a name short enough for one line, spaces and all
    for board in report.boards:
        assert squashed(board.name) in squashed(text), board.name
    assert squashed("Kế hoạch số 81/KH-STNMT: Hưởng ứng Chiến dịch Giờ Trái Đất năm 2024") in squashed(pages[0])


def test_pdf_writes_numbers_and_dates_the_vietnamese_way(report: AcceptanceReport, pdf_bytes: bytes) -> None:
    text = "\n".join(pdf_pages(pdf_bytes))
    assert f"{report.totals.planned:,}".replace(",", ".") in text  # 20.160
    assert "từ ngày 01/03/2024" in text
    rate = report.totals.delivered / report.totals.planned * 100
    assert f"{rate:.1f}%".replace(".", ",") in text


def test_pdf_is_a4_with_page_numbers_and_the_dejavu_font_embedded(pdf_bytes: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf_bytes))
    count = len(reader.pages)
    for number, page in enumerate(reader.pages, start=1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (width, height) == pytest.approx(A4_POINTS, abs=1)
        assert f"{rx.PAGE_LABEL} {number}/{count}" in page.extract_text()
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[str(font["/BaseFont"])] = font
    assert fonts and all("DejaVu" in name for name in fonts)
    for font in fonts.values():
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor, "the TrueType font is embedded"


def test_pdf_names_each_gap_reason_and_the_broken_chain(report: AcceptanceReport, pdf_bytes: bytes) -> None:
    text = squashed("\n".join(pdf_pages(pdf_bytes)))
    kinds = {gap.kind for gap in report.gaps}
    assert kinds == set(rx.GAP_REASONS)
    for kind in kinds:
        assert squashed(rx.GAP_REASONS[kind]) in text
    broken = [row for row in report.chains if not row.ok]
    assert broken
    assert squashed(broken[0].problem) in text
    assert squashed(rx.CHAIN_BAD) in text
    assert squashed(rx.PDF_CHAINS_SOME_BAD.format(bad=1, count=len(report.chains))) in text


def test_pdf_embeds_the_screenshots_with_captions(report: AcceptanceReport, pdf_bytes: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf_bytes))
    images = sum(len(page.images) for page in reader.pages)
    assert images == len(report.frames) > 0
    text = squashed("\n".join(pdf_pages(pdf_bytes)))
    for frame in report.frames:
        assert squashed(f"{frame.code} – {frame.name}") in text


def test_an_unreadable_screenshot_is_named_not_fatal(report: AcceptanceReport) -> None:
    broken = Frame(screen_id=1, code="HX-01", name="Bảng LED Ngã tư Hàng Xanh", taken_at=report.generated_at,
                   png=b"\x89PNG not really")
    text = squashed("\n".join(pdf_pages(rx.to_pdf(dataclasses.replace(report, frames=(broken,))))))
    assert squashed(rx.PDF_FRAME_UNREADABLE) in text


def test_xlsx_and_csv_show_the_report_figures_per_board_and_in_total(report: AcceptanceReport) -> None:
    expected = report_board_figures(report)
    from_csv = csv_board_figures(rx.to_csv(report))
    from_xlsx = xlsx_board_figures(rx.to_xlsx(report))
    assert_same_figures(from_csv, expected)
    assert_same_figures(from_xlsx, expected)
    assert from_csv == from_xlsx
    boards, total = from_csv
    assert sum(planned for planned, _, _ in boards.values()) == total[0]
    assert sum(delivered for _, delivered, _ in boards.values()) == total[1]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reports())
def test_xlsx_and_csv_agree_for_any_report(report: AcceptanceReport) -> None:
    from_csv = csv_board_figures(rx.to_csv(report))
    from_xlsx = xlsx_board_figures(rx.to_xlsx(report))
    assert_same_figures(from_csv, report_board_figures(report))
    assert from_csv == from_xlsx
    names = {row[0]: row[1] for row in list(load_workbook(io.BytesIO(rx.to_xlsx(report)))[rx.SHEET_BOARDS]
                                            .iter_rows(values_only=True))[1:-1]}
    assert names == {board.code: nfc(board.name) for board in report.boards}


def test_xlsx_has_the_named_sheets_a_frozen_bold_header_and_vietnamese_formats(report: AcceptanceReport) -> None:
    book = load_workbook(io.BytesIO(rx.to_xlsx(report)))
    assert book.sheetnames == [rx.SHEET_SUMMARY, rx.SHEET_BOARDS, rx.SHEET_DAYS, rx.SHEET_GAPS, rx.SHEET_CHAINS]
    boards = book[rx.SHEET_BOARDS]
    assert boards.freeze_panes == "C2"
    assert all(cell.font.bold for cell in boards[1])
    assert boards.cell(row=2, column=4).number_format == rx.XLSX_INT
    assert boards.column_dimensions["B"].width >= 30
    days = book[rx.SHEET_DAYS]
    assert days.cell(row=2, column=1).number_format == rx.XLSX_DATE
    assert days.max_row == len(report.days) + 2  # header, the days, the totals
    summary = [tuple(row) for row in book[rx.SHEET_SUMMARY].iter_rows(values_only=True)]
    assert (rx.LABEL_TASK, report.scope.task) in summary
    assert (rx.LABEL_PLANNED, report.totals.planned) in summary
    gaps = book[rx.SHEET_GAPS]
    assert {gaps.cell(row=r, column=6).value for r in range(2, gaps.max_row + 1)} == set(rx.GAP_REASONS.values())
    chains = list(book[rx.SHEET_CHAINS].iter_rows(values_only=True))[1:]
    assert [row[2] for row in chains].count(rx.CHAIN_BAD) == 1


def test_csv_starts_with_the_bom_and_keeps_vietnamese(report: AcceptanceReport) -> None:
    data = rx.to_csv(report)
    assert data.startswith(codecs.BOM_UTF8)
    sections = csv_sections(data)
    heading = dict(row for row in sections[rx.TITLE] if len(row) == 2)
    assert heading[rx.LABEL_TASK] == "Hưởng ứng Chiến dịch Giờ Trái Đất năm 2024"
    assert heading[rx.LABEL_DATE_FROM] == "2024-03-01"
    _, *rows, _ = sections[rx.SECTION_BOARDS]
    assert [row[1] for row in rows] == [board.name for board in report.boards]
    assert "Cổng chào Quận 7 – Nguyễn Văn Linh" in [row[1] for row in rows]
    rate = float(rows[0][5])  # machine-readable: "." decimal point, no thousands separator
    assert rate == pytest.approx(report.boards[0].totals.delivery_rate * 100, abs=0.005)
    _, *days, _ = sections[rx.SECTION_DAYS]
    assert len(days) == len(report.days)
    _, *gaps = sections[rx.SECTION_GAPS]
    assert len(gaps) == len(report.gaps)
    _, *chains = sections[rx.SECTION_CHAINS]
    assert [row[2] for row in chains] == ["1" if c.ok else "0" for c in report.chains]
    assert [row[4] for row in chains] == [c.head_hash for c in report.chains]


def test_decomposed_names_come_out_composed(report: AcceptanceReport) -> None:
    board = report.boards[0]
    nfd = dataclasses.replace(board, name=unicodedata.normalize("NFD", board.name))
    decomposed = dataclasses.replace(report, boards=(nfd, *report.boards[1:]))
    _, *rows, _ = csv_sections(rx.to_csv(decomposed))[rx.SECTION_BOARDS]
    assert rows[0][1] == nfc(board.name)
    sheet = load_workbook(io.BytesIO(rx.to_xlsx(decomposed)))[rx.SHEET_BOARDS]
    assert sheet.cell(row=2, column=2).value == nfc(board.name)
    assert nfc(board.name) in "\n".join(pdf_pages(rx.to_pdf(decomposed)))


def test_a_name_that_looks_like_a_formula_stays_text(report: AcceptanceReport) -> None:
    board = dataclasses.replace(report.boards[0], name="=HYPERLINK(\"x\")")
    tricky = dataclasses.replace(report, boards=(board,))
    sheet = load_workbook(io.BytesIO(rx.to_xlsx(tricky)))[rx.SHEET_BOARDS]
    assert sheet.cell(row=2, column=2).data_type == "s"
    _, row, _ = csv_sections(rx.to_csv(tricky))[rx.SECTION_BOARDS]
    assert row[1] == "'=HYPERLINK(\"x\")"  # the quote keeps spreadsheet programs from running it


def test_many_boards_break_the_pdf_table_across_pages_with_its_header_repeated() -> None:
    report = sample_report(board_count=120, day_count=10)
    pages = pdf_pages(rx.to_pdf(report))
    first = next(n for n, text in enumerate(pages) if rx.SECTION_BOARDS in text)
    last = next(n for n, text in enumerate(pages) if rx.TOTAL_LABEL in text)
    assert last - first >= 2, "120 boards take several pages"
    header = rx.PDF_BOARD_COLUMNS[1]
    for number in range(first, last + 1):
        assert header in pages[number], f"page {number + 1} has no table header"
    codes_seen = set(re.findall(r"BL-\d{3}", "\n".join(pages[first:last + 1])))
    assert len(codes_seen) == 120 - 6  # the six named sample boards come first, with their own codes


def test_an_empty_report_exports_cleanly() -> None:
    report = empty_report()
    sections = csv_sections(rx.to_csv(report))
    assert sections[rx.SECTION_BOARDS] == [list(rx.BOARD_COLUMNS), [rx.TOTAL_LABEL, "", "", "0", "0", "", "0.0",
                                                                     "0", "", ""]]
    assert xlsx_board_figures(rx.to_xlsx(report)) == ({}, (0, 0, 0.0))
    pages = pdf_pages(rx.to_pdf(report))
    text = "\n".join(pages)
    assert f"{rx.PAGE_LABEL} 1/{len(pages)}" in text
    for sentence in (rx.PDF_NO_BOARDS, rx.PDF_NO_DAYS, rx.PDF_NO_GAPS, rx.PDF_NO_CHAINS, rx.PDF_NO_FRAMES):
        assert squashed(sentence) in squashed(text)
    assert rx.PDF_HEAD_SIGNER in text
