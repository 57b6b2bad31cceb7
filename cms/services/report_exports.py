"""The acceptance report as files: CSV for machines, XLSX for the finance office, PDF to sign.

All three take the same `AcceptanceReport` (built by `acceptance.build_report`) and show
the same figures: the per-board, per-day and total values are computed once here
(`_board_values`, `_day_values`, `_total_values`) and only rendered differently.

- CSV is machine-readable: UTF-8 with a BOM (so Excel picks the encoding and shows the
  Vietnamese), ISO dates, plain numbers with "." as the decimal point, rates in percent.
- XLSX holds real numbers and dates with display formats; the totals rows are values,
  not formulas, so a reader that does not evaluate formulas sees the same totals.
- PDF is an A4 Vietnamese administrative document (national motto, place and date,
  signature block) set in DejaVu Sans, taken from matplotlib's bundled fonts so no
  system font is needed; fpdf2 embeds the subset of glyphs used.

Times are shown in the organisation's local zone (the `zone` argument; callers pass the
configured one). The labels are fixed Vietnamese: the document is an administrative
Vietnamese document whatever the UI language is.
"""
from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import matplotlib
from fpdf import FPDF, FontFace
from fpdf.enums import TableCellFillMode, XPos, YPos
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from PIL import Image, UnidentifiedImageError

from cms.services.acceptance import AcceptanceReport, BoardRow, ChainRow, DayRow, Frame, Gap, Totals

# The product's default zone (config `[web] timezone`); callers pass the configured one.
DEFAULT_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")

# --- Labels (fixed Vietnamese) -------------------------------------------------------

TITLE = "BÁO CÁO KẾT QUẢ THỰC HIỆN, KHỐI LƯỢNG"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
DATE_LINE = "{place}ngày {d:%d} tháng {d:%m} năm {d:%Y}"

SECTION_SUMMARY = "I. TỔNG HỢP"
SECTION_BOARDS = "II. KẾT QUẢ THEO BẢNG LED"
SECTION_CHART = "III. BIỂU ĐỒ THEO NGÀY"
SECTION_DAYS = "III. KẾT QUẢ THEO NGÀY"  # the CSV's table behind the PDF's chart
SECTION_GAPS = "IV. KHOẢNG THIẾU VÀ NGUYÊN NHÂN"
SECTION_CHAINS = "V. XÁC THỰC NHẬT KÝ PHÁT"
SECTION_FRAMES = "VI. ẢNH CHỤP MÀN HÌNH"

SHEET_SUMMARY = "Tổng hợp"
SHEET_BOARDS = "Theo bảng"
SHEET_DAYS = "Theo ngày"
SHEET_GAPS = "Khoảng thiếu"
SHEET_CHAINS = "Chuỗi xác thực"

LABEL_ORGANISATION = "Cơ quan"
LABEL_PLAN_NUMBER = "Kế hoạch số"
LABEL_PLAN_TITLE = "Tên kế hoạch"
LABEL_TASK = "Nhiệm vụ"
LABEL_LEAD_UNIT = "Đơn vị chủ trì"
LABEL_PERIOD = "Thời gian thực hiện"
LABEL_DATE_FROM = "Từ ngày"
LABEL_DATE_TO = "Đến ngày"
LABEL_GENERATED = "Thời điểm lập báo cáo"
LABEL_ITEM = "Chỉ tiêu"
LABEL_VALUE = "Giá trị"

LABEL_PLANNED = "Số lượt phát theo kế hoạch"
LABEL_DELIVERED = "Số lượt đã phát"
LABEL_RATE = "Tỷ lệ thực hiện (%)"
LABEL_RATE_SHOWN = "Tỷ lệ thực hiện"  # PDF and XLSX show the "%" with the number
LABEL_AIRTIME = "Tổng thời lượng phát (giờ)"
LABEL_BOARDS = "Số bảng LED trong báo cáo"
LABEL_BOARDS_REACHED = "Số bảng LED đã phát"
LABEL_DAYS_PLAYED = "Số ngày có phát"
LABEL_FIRST_PLAY = "Lượt phát đầu tiên"
LABEL_LAST_PLAY = "Lượt phát cuối cùng"
LABEL_GAPS = "Số khoảng thiếu"
LABEL_CHAINS = "Xác thực nhật ký phát"
LABEL_CHAIN_SCOPE = "Phạm vi xác thực"
CHAIN_SCOPE_SINCE = ("Kiểm tra lại các bản ghi mới từ lần xác thực trước; toàn bộ chuỗi được xác thực lần gần nhất "
                     "lúc {when}")
CHAIN_SCOPE_NEVER = "chưa có lần xác thực toàn bộ chuỗi"
LABEL_CAMPAIGNS = "Nhiệm vụ được tính"

TOTAL_LABEL = "Tổng cộng"
CHAIN_OK = "Hợp lệ"
CHAIN_BAD = "Không khớp"
NONE_MARK = "—"
PAGE_LABEL = "Trang"

BOARD_COLUMNS = ("Mã bảng", "Tên bảng", "Nhóm", "Kế hoạch (lượt)", "Đã phát (lượt)", "Tỷ lệ thực hiện (%)",
                 "Thời lượng phát (giờ)", "Số ngày phát", "Phát đầu tiên", "Phát cuối cùng")
DAY_COLUMNS = ("Ngày", "Kế hoạch (lượt)", "Đã phát (lượt)", "Tỷ lệ thực hiện (%)", "Thời lượng phát (giờ)",
               "Số bảng đã phát")
GAP_COLUMNS = ("Mã bảng", "Tên bảng", "Ngày", "Khung giờ", "Loại", "Nguyên nhân", "Kế hoạch (lượt)",
               "Đã phát (lượt)", "Thiếu (lượt)", "Giờ tắt theo lịch")
CHAIN_COLUMNS = ("Mã bảng", "Tên bảng", "Hợp lệ", "Số bản ghi", "Mã băm cuối chuỗi", "Vấn đề đầu tiên")

PDF_BOARD_COLUMNS = ("Mã bảng", "Tên bảng LED", "Kế hoạch (lượt)", "Đã phát (lượt)", "Tỷ lệ", "Thời lượng (giờ)",
                     "Số ngày phát")
PDF_GAP_COLUMNS = ("Bảng LED", "Ngày", "Khung giờ", "Thiếu (lượt)", "Nguyên nhân")
PDF_CHAIN_COLUMNS = ("Bảng LED", "Kết quả", "Số bản ghi", "Mã băm cuối chuỗi", "Vấn đề đầu tiên")

GAP_REASONS = {
    "offline": "Bảng tắt hoặc mất kết nối",
    "not_reported": "Chưa gửi nhật ký",
    "short": "Phát ít hơn kế hoạch",
}

PDF_SUBTITLE_PLAN = "Kế hoạch số {number}: {task}"
PDF_SCOPE_LINE = "Đơn vị chủ trì: {lead_unit}. Thời gian thực hiện: {period} (từ ngày {start} đến ngày {end})."
PDF_NO_BOARDS = "Không có bảng LED nào có kế hoạch hoặc lượt phát trong thời gian báo cáo."
PDF_NO_DAYS = "Không có dữ liệu theo ngày trong thời gian báo cáo."
PDF_NO_GAPS = "Không có khoảng thiếu: các bảng LED đã phát đủ số lượt theo kế hoạch."
PDF_NO_CHAINS = "Không có nhật ký phát nào cần xác thực."
PDF_CHAINS_ALL_OK = "Kết quả: tất cả {count} chuỗi nhật ký phát đều hợp lệ (không bị sửa, xoá, chèn hoặc cắt)."
PDF_CHAINS_SOME_BAD = "Kết quả: {bad}/{count} chuỗi nhật ký phát không khớp; chi tiết ở bảng dưới."
PDF_NO_FRAMES = "Không có ảnh chụp màn hình trong thời gian báo cáo."
PDF_FRAMES_MORE = "Báo cáo chỉ in {shown}/{count} ảnh chụp màn hình."
PDF_FRAME_UNREADABLE = "(không đọc được ảnh)"
PDF_CHART_PLANNED = "Kế hoạch"
PDF_CHART_DELIVERED = "Đã phát"
PDF_CHART_UNIT = "Số lượt phát theo ngày"
PDF_AUTHOR_SIGNER = "NGƯỜI LẬP BÁO CÁO"
PDF_HEAD_SIGNER = "THỦ TRƯỞNG ĐƠN VỊ"
PDF_SIGN_HINT = "(Ký, ghi rõ họ tên)"
PDF_RECIPIENTS = "Nơi nhận:"
PDF_RECIPIENT_LINES = ("- Như trên;", "- Lưu: VT.")

# --- Shared values -------------------------------------------------------------------

HOURS_DECIMALS = 3  # airtime in hours to 3.6 s, the same in CSV and XLSX so they compare equal
RATE_DECIMALS = 2


def _text(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def _local(moment: datetime | None, zone: tzinfo) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # stored times are UTC; a naive one came from the database as such
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def _hours(seconds: float) -> float:
    return round(seconds / 3600, HOURS_DECIMALS)


def _rate_percent(totals: Totals) -> float | None:
    rate = totals.delivery_rate
    return None if rate is None else round(rate * 100, RATE_DECIMALS)


def _board_values(row: BoardRow, zone: tzinfo) -> tuple:
    t = row.totals
    return (_text(row.code), _text(row.name), _text(row.group), t.planned, t.delivered, _rate_percent(t),
            _hours(t.airtime_seconds), row.days_played, _local(t.first_start, zone), _local(t.last_end, zone))


def _days_played(report: AcceptanceReport) -> int:
    return sum(1 for day in report.days if day.totals.delivered)


def _total_values(report: AcceptanceReport, zone: tzinfo) -> tuple:
    t = report.totals
    return (TOTAL_LABEL, "", "", t.planned, t.delivered, _rate_percent(t), _hours(t.airtime_seconds),
            _days_played(report), _local(t.first_start, zone), _local(t.last_end, zone))


def _day_values(row: DayRow) -> tuple:
    t = row.totals
    return (row.day, t.planned, t.delivered, _rate_percent(t), _hours(t.airtime_seconds), t.boards_reached)


def _day_total_values(report: AcceptanceReport) -> tuple:
    t = report.totals
    return (TOTAL_LABEL, t.planned, t.delivered, _rate_percent(t), _hours(t.airtime_seconds), t.boards_reached)


def _missing(gap: Gap) -> int:
    return max(gap.planned - gap.delivered, 0)


def _gap_values(gap: Gap) -> tuple:
    return (_text(gap.code), _text(gap.name), gap.day, _text(gap.hours), gap.kind, gap_reason(gap.kind),
            gap.planned, gap.delivered, _missing(gap), round(gap.dark_hours, 2))


def _chain_values(row: ChainRow) -> tuple:
    return (_text(row.code), _text(row.name), row.ok, row.entries, row.head_hash, _text(row.problem))


def gap_reason(kind: str) -> str:
    """The Vietnamese reason shown for a gap kind (an unknown kind is shown as itself)."""
    return GAP_REASONS.get(kind, kind)


def _summary_values(report: AcceptanceReport, zone: tzinfo) -> list[tuple[str, object]]:
    t = report.totals
    return [
        (LABEL_PLANNED, t.planned),
        (LABEL_DELIVERED, t.delivered),
        (LABEL_RATE, _rate_percent(t)),
        (LABEL_AIRTIME, _hours(t.airtime_seconds)),
        (LABEL_BOARDS, t.boards),
        (LABEL_BOARDS_REACHED, t.boards_reached),
        (LABEL_DAYS_PLAYED, _days_played(report)),
        (LABEL_FIRST_PLAY, _local(t.first_start, zone)),
        (LABEL_LAST_PLAY, _local(t.last_end, zone)),
        (LABEL_GAPS, len(report.gaps)),
        (LABEL_CHAINS, _chains_verdict(report)),
        *([(LABEL_CHAIN_SCOPE, scope)] if (scope := _chain_scope(report, zone)) else []),
    ]


def _chain_scope(report: AcceptanceReport, zone: tzinfo) -> str:
    """Said only when some chain was re-checked from its last verification rather than whole."""
    partial = [row for row in report.chains if row.checked_from]
    if not partial:
        return ""
    whole = [row.whole_checked_at for row in partial]
    oldest = None if any(w is None for w in whole) else min(w for w in whole if w is not None)
    local = _local(oldest, zone)
    return CHAIN_SCOPE_SINCE.format(when=f"{local:%H:%M %d/%m/%Y}" if local else CHAIN_SCOPE_NEVER)


def _chains_verdict(report: AcceptanceReport) -> str:
    if not report.chains:
        return NONE_MARK
    return CHAIN_OK if report.chains_ok else CHAIN_BAD


def _heading_values(report: AcceptanceReport, zone: tzinfo) -> list[tuple[str, object]]:
    s = report.scope
    return [
        (LABEL_ORGANISATION, _text(s.organisation)),
        (LABEL_PLAN_NUMBER, _text(s.plan_number)),
        (LABEL_PLAN_TITLE, _text(s.plan_title)),
        (LABEL_TASK, _text(s.task)),
        (LABEL_LEAD_UNIT, _text(s.lead_unit)),
        (LABEL_PERIOD, _text(s.period_text)),
        (LABEL_DATE_FROM, s.date_from),
        (LABEL_DATE_TO, s.date_to),
        (LABEL_CAMPAIGNS, "; ".join(f"{cid}: {_text(title)}" for cid, title in s.campaigns)),
        (LABEL_GENERATED, _local(report.generated_at, zone)),
    ]


# --- CSV -----------------------------------------------------------------------------

# A text cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)  # shortest round-trip form, "." as the decimal point
    if isinstance(value, int):
        return str(value)
    text = _text(str(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


class _RowWriter(Protocol):
    def writerow(self, row: Iterable[object], /) -> object: ...


def _csv_rows(writer: _RowWriter, rows: Iterable[Sequence[object]]) -> None:
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])


def to_csv(report: AcceptanceReport, *, zone: tzinfo = DEFAULT_ZONE) -> bytes:
    """The report as CSV sections separated by a blank line, each opened by its title row.

    UTF-8 with a BOM; dates and times ISO 8601 (times with their offset); numbers plain,
    rates in percent, airtime in hours; a board's "Hợp lệ" chain column is 1 or 0.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([TITLE])
    _csv_rows(writer, _heading_values(report, zone))
    writer.writerow([])
    writer.writerow([SECTION_SUMMARY])
    _csv_rows(writer, [(LABEL_ITEM, LABEL_VALUE), *_summary_values(report, zone)])
    writer.writerow([])
    writer.writerow([SECTION_BOARDS])
    _csv_rows(writer, [BOARD_COLUMNS, *(_board_values(b, zone) for b in report.boards),
                       _total_values(report, zone)])
    writer.writerow([])
    writer.writerow([SECTION_DAYS])
    _csv_rows(writer, [DAY_COLUMNS, *(_day_values(d) for d in report.days), _day_total_values(report)])
    writer.writerow([])
    writer.writerow([SECTION_GAPS])
    _csv_rows(writer, [GAP_COLUMNS, *(_gap_values(g) for g in report.gaps)])
    writer.writerow([])
    writer.writerow([SECTION_CHAINS])
    _csv_rows(writer, [CHAIN_COLUMNS, *(_chain_values(c) for c in report.chains)])
    return out.getvalue().encode("utf-8-sig")


# --- XLSX ----------------------------------------------------------------------------

XLSX_INT = "#,##0"  # Excel shows its locale's separators: 12.345 on a Vietnamese system
XLSX_HOURS = "#,##0.00"
XLSX_RATE = "0.0%"
XLSX_DATE = "dd/mm/yyyy"
XLSX_DATETIME = "dd/mm/yyyy hh:mm"
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")
_BOLD = Font(bold=True)


def _xlsx_value(value: object) -> object:
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", _text(value))
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # Excel has no zones; the values are already local
    return value


def _xlsx_put(ws: Worksheet, row: int, column: int, value: object, number_format: str | None = None) -> None:
    cell = ws.cell(row=row, column=column)
    cell.value = _xlsx_value(value)
    if isinstance(cell.value, str) and cell.value.startswith("="):
        cell.data_type = "s"  # a name is text, never a formula
    if number_format is None:
        if isinstance(value, datetime):
            number_format = XLSX_DATETIME
        elif isinstance(value, date):
            number_format = XLSX_DATE
    if number_format:
        cell.number_format = number_format


def _xlsx_table(ws: Worksheet, headers: Sequence[str], rows: Iterable[Sequence[object]],
                formats: Sequence[str | None], widths: Sequence[float], total: Sequence[object] | None = None,
                frozen: str = "A2") -> None:
    """One header row (bold, filled, frozen), the rows, and a bold totals row of values."""
    for column, header in enumerate(headers, start=1):
        _xlsx_put(ws, 1, column, header)
        cell = ws.cell(row=1, column=column)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    row_number = 1
    for row_number, values in enumerate(rows, start=2):
        for column, (value, fmt) in enumerate(zip(values, formats, strict=True), start=1):
            _xlsx_put(ws, row_number, column, value, fmt)
    if total is not None:
        row_number += 1
        for column, (value, fmt) in enumerate(zip(total, formats, strict=True), start=1):
            _xlsx_put(ws, row_number, column, value, fmt)
            ws.cell(row=row_number, column=column).font = _BOLD
    for column, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = frozen
    if row_number > 1:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{row_number - (1 if total else 0)}"


def _rate_fraction(percent: float | None) -> float | None:
    # Excel percentages are fractions shown with "%"; the CSV keeps the percent number
    return None if percent is None else round(percent / 100, RATE_DECIMALS + 2)


def _xlsx_summary(ws: Worksheet, report: AcceptanceReport, zone: tzinfo) -> None:
    ws.title = SHEET_SUMMARY
    ws["A1"] = TITLE
    ws["A1"].font = Font(bold=True, size=14)
    row = 3
    for label, value in _heading_values(report, zone):
        _xlsx_put(ws, row, 1, label)
        ws.cell(row=row, column=1).font = _BOLD
        _xlsx_put(ws, row, 2, value)
        ws.cell(row=row, column=2).alignment = Alignment(wrap_text=True, vertical="top", horizontal="left")
        row += 1
    row += 1
    _xlsx_put(ws, row, 1, SECTION_SUMMARY)
    ws.cell(row=row, column=1).font = Font(bold=True, size=12)
    row += 1
    for label, value in _summary_values(report, zone):
        fmt = None
        if label == LABEL_RATE:
            label, value, fmt = LABEL_RATE_SHOWN, _rate_fraction(value), XLSX_RATE  # type: ignore[arg-type]
        elif label == LABEL_AIRTIME:
            fmt = XLSX_HOURS
        elif isinstance(value, int):
            fmt = XLSX_INT
        _xlsx_put(ws, row, 1, label)
        _xlsx_put(ws, row, 2, value, fmt)
        ws.cell(row=row, column=2).alignment = Alignment(horizontal="left")
        row += 1
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 70


def _xlsx_board_row(values: tuple) -> tuple:
    return values[:5] + (_rate_fraction(values[5]),) + values[6:]


def _xlsx_day_row(values: tuple) -> tuple:
    return values[:3] + (_rate_fraction(values[3]),) + values[4:]


def to_xlsx(report: AcceptanceReport, *, zone: tzinfo = DEFAULT_ZONE) -> bytes:
    """The report as a workbook: summary, per board, per day, gaps and chains, one sheet each."""
    book = Workbook()
    _xlsx_summary(book.active, report, zone)
    _xlsx_table(book.create_sheet(SHEET_BOARDS), BOARD_COLUMNS,
                (_xlsx_board_row(_board_values(b, zone)) for b in report.boards),
                (None, None, None, XLSX_INT, XLSX_INT, XLSX_RATE, XLSX_HOURS, XLSX_INT, XLSX_DATETIME, XLSX_DATETIME),
                (12, 40, 18, 14, 14, 12, 14, 11, 17, 17),
                total=_xlsx_board_row(_total_values(report, zone)), frozen="C2")
    _xlsx_table(book.create_sheet(SHEET_DAYS), DAY_COLUMNS,
                (_xlsx_day_row(_day_values(d)) for d in report.days),
                (XLSX_DATE, XLSX_INT, XLSX_INT, XLSX_RATE, XLSX_HOURS, XLSX_INT),
                (13, 14, 14, 12, 14, 12), total=_xlsx_day_row(_day_total_values(report)), frozen="B2")
    _xlsx_table(book.create_sheet(SHEET_GAPS), GAP_COLUMNS, (_gap_values(g) for g in report.gaps),
                (None, None, XLSX_DATE, None, None, None, XLSX_INT, XLSX_INT, XLSX_INT, "0.0#"),
                (12, 36, 12, 26, 13, 40, 12, 12, 12, 12), frozen="C2")
    _xlsx_table(book.create_sheet(SHEET_CHAINS), CHAIN_COLUMNS,
                ((code, name, CHAIN_OK if ok else CHAIN_BAD, entries, head, problem)
                 for code, name, ok, entries, head, problem in (_chain_values(c) for c in report.chains)),
                (None, None, None, XLSX_INT, "@", None), (12, 36, 12, 12, 68, 60), frozen="C2")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- PDF -----------------------------------------------------------------------------

FONT = "DejaVu"
MONO_FONT = "DejaVuMono"
_FONT_FILES = {(FONT, ""): "DejaVuSans.ttf", (FONT, "B"): "DejaVuSans-Bold.ttf", (FONT, "I"): "DejaVuSans-Oblique.ttf",
               (MONO_FONT, ""): "DejaVuSansMono.ttf"}
# Nghị định 30/2020/NĐ-CP page margins for administrative documents (mm)
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 30, 15, 20, 20
MAX_FRAMES = 12  # more screenshots would make a heavy file and add nothing to the acceptance
FRAME_PIXELS = 640  # frames are downscaled to this width before embedding
_HEADINGS = FontFace(emphasis="BOLD", fill_color=(221, 231, 240))
_TOTAL_ROW = FontFace(emphasis="BOLD")
_ZEBRA = (246, 246, 246)


def font_dir() -> Path:
    """Where the DejaVu fonts bundled with matplotlib are."""
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def vn_number(value: float, decimals: int = 0) -> str:
    """A number written the Vietnamese way: "." between thousands, "," before decimals."""
    return f"{value:,.{decimals}f}".translate(str.maketrans(",.", ".,"))


def _vn_rate(totals: Totals) -> str:
    percent = _rate_percent(totals)
    return NONE_MARK if percent is None else f"{vn_number(percent, 1)}%"


def _vn_date(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def _vn_moment(moment: datetime | None) -> str:
    return NONE_MARK if moment is None else f"{moment:%H:%M %d/%m/%Y}"


class _AdministrativePdf(FPDF):
    """A4 portrait with the page number "Trang X/Y" centred in every footer."""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "I", 8)
        self.cell(0, 5, f"{PAGE_LABEL} {self.page_no()}/{{nb}}", align="C")


def _new_pdf(report: AcceptanceReport, zone: tzinfo) -> _AdministrativePdf:
    pdf = _AdministrativePdf(orientation="portrait", unit="mm", format="A4")
    folder = font_dir()
    for (family, style), name in _FONT_FILES.items():
        pdf.add_font(family, style, folder / name)
    # Vietnamese in NFC uses precomposed letters that DejaVu Sans has as single glyphs, so
    # no shaping engine (uharfbuzz) is needed for the diacritics to sit right.
    pdf.alias_nb_pages()
    pdf.set_margins(MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT)
    pdf.set_auto_page_break(True, margin=MARGIN_BOTTOM)
    pdf.set_title(_text(f"{TITLE} – {report.scope.plan_number}"))
    pdf.set_author(_text(report.scope.organisation))
    pdf.set_subject(_text(report.scope.task))
    pdf.set_creator("Panoled")
    pdf.set_lang("vi")
    generated = _local(report.generated_at, zone)
    if generated is not None:
        pdf.set_creation_date(generated)
    return pdf


def _pdf_letterhead(pdf: FPDF, report: AcceptanceReport, zone: tzinfo) -> None:
    """Organisation top left, national motto top right, then the place and date line."""
    pdf.set_font(FONT, "B", 10)
    # the motto column takes what the national name needs; the organisation gets the rest
    right_w = pdf.get_string_width(NATION) + 8
    left_w = pdf.epw - right_w
    top = pdf.get_y()
    pdf.multi_cell(left_w, 5, _text(report.scope.organisation.upper()) or NONE_MARK, align="C",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _centred_rule(pdf, pdf.l_margin, left_w, 18)
    left_bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + left_w, top)
    pdf.cell(right_w, 5, NATION, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, "B", 10)
    pdf.cell(right_w, 5, MOTTO, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    _centred_rule(pdf, pdf.l_margin + left_w, right_w, pdf.get_string_width(MOTTO))
    pdf.set_y(max(pdf.get_y(), left_bottom) + 2)
    pdf.set_x(pdf.l_margin + left_w)
    generated = _local(report.generated_at, zone) or datetime.now(zone)
    province = _text(report.scope.province).strip()
    line = DATE_LINE.format(place=f"{province}, " if province else "", d=generated)
    pdf.set_font(FONT, "I", 10)
    pdf.cell(right_w, 6, line[0].upper() + line[1:], align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)


def _centred_rule(pdf: FPDF, x: float, width: float, length: float) -> None:
    y = pdf.get_y() + 0.8
    start = x + (width - length) / 2
    pdf.set_line_width(0.3)
    pdf.line(start, y, start + length, y)
    pdf.set_y(y + 1.5)


def _pdf_title(pdf: FPDF, report: AcceptanceReport) -> None:
    s = report.scope
    pdf.set_font(FONT, "B", 13)
    pdf.multi_cell(0, 7, TITLE, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "B", 10)
    pdf.multi_cell(0, 5.5, _text(PDF_SUBTITLE_PLAN.format(number=s.plan_number, task=s.task)), align="C",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 10)
    scope_line = PDF_SCOPE_LINE.format(lead_unit=s.lead_unit or NONE_MARK, period=s.period_text or NONE_MARK,
                                       start=_vn_date(s.date_from), end=_vn_date(s.date_to))
    pdf.multi_cell(0, 5.5, _text(scope_line), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def _pdf_section(pdf: FPDF, title: str, needs: float = 25) -> None:
    # keep a heading with the start of its content rather than alone at the foot of a page
    if pdf.get_y() + needs > pdf.page_break_trigger:
        pdf.add_page()
    # tables take the current colours as their base style; the chart leaves its own set
    pdf.set_fill_color(255, 255, 255)
    pdf.set_draw_color(0, 0, 0)
    pdf.ln(2)
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 7, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9)


def _pdf_paragraph(pdf: FPDF, text: str, style: str = "") -> None:
    pdf.set_font(FONT, style, 10)
    pdf.multi_cell(0, 5.5, _text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9)


def _pdf_value(value: object) -> str:
    if value is None:
        return NONE_MARK
    if isinstance(value, datetime):
        return _vn_moment(value)
    if isinstance(value, date):
        return _vn_date(value)
    if isinstance(value, int):
        return vn_number(value)
    if isinstance(value, float):
        return vn_number(value, 2)
    return _text(str(value))


def _pdf_summary(pdf: FPDF, report: AcceptanceReport, zone: tzinfo) -> None:
    _pdf_section(pdf, SECTION_SUMMARY)
    rows = []
    for label, value in _summary_values(report, zone):
        if label == LABEL_RATE:
            rows.append((LABEL_RATE_SHOWN, _vn_rate(report.totals)))
        elif label == LABEL_AIRTIME:
            rows.append((label, vn_number(report.totals.airtime_seconds / 3600, 1)))
        else:
            rows.append((label, _pdf_value(value)))
    with pdf.table(col_widths=(55, 45), first_row_as_headings=False, line_height=5.5,
                   text_align=("LEFT", "RIGHT"), width=pdf.epw * 0.75, align="LEFT") as table:
        for label, value in rows:
            table.row((label, value))


def _pdf_boards(pdf: FPDF, report: AcceptanceReport) -> None:
    _pdf_section(pdf, SECTION_BOARDS)
    if not report.boards:
        _pdf_paragraph(pdf, PDF_NO_BOARDS)
        return
    with pdf.table(col_widths=(16, 50, 19, 19, 15, 21, 15), headings_style=_HEADINGS, line_height=4.6,
                   text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
                   cell_fill_color=_ZEBRA, cell_fill_mode=TableCellFillMode.EVEN_ROWS, width=pdf.epw) as table:
        table.row(PDF_BOARD_COLUMNS)
        for board in report.boards:
            t = board.totals
            table.row((_text(board.code), _text(board.name), vn_number(t.planned), vn_number(t.delivered),
                       _vn_rate(t), vn_number(t.airtime_seconds / 3600, 1), vn_number(board.days_played)))
        t = report.totals
        total = table.row(style=_TOTAL_ROW)
        total.cell(TOTAL_LABEL, colspan=2)
        for text in (vn_number(t.planned), vn_number(t.delivered), _vn_rate(t),
                     vn_number(t.airtime_seconds / 3600, 1), vn_number(_days_played(report))):
            total.cell(text)


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above value, for the chart's axis."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _pdf_chart(pdf: FPDF, report: AcceptanceReport) -> None:
    """Planned (grey) and delivered (blue) plays per day as vector bars."""
    chart_h, axis_w, legend_h, labels_h = 58.0, 16.0, 7.0, 6.0
    _pdf_section(pdf, SECTION_CHART, needs=chart_h + legend_h + labels_h + 12)
    if not report.days:
        _pdf_paragraph(pdf, PDF_NO_DAYS)
        return
    top = pdf.get_y() + legend_h
    left = pdf.l_margin + axis_w
    width = pdf.epw - axis_w
    bottom = top + chart_h
    peak = _nice_ceiling(max(max(d.totals.planned, d.totals.delivered) for d in report.days))
    planned_color, delivered_color = (190, 190, 190), (31, 100, 170)

    pdf.set_font(FONT, "", 7.5)
    legend_y = pdf.get_y() + 1
    pdf.set_xy(pdf.l_margin, legend_y)
    pdf.cell(axis_w + 2, 4, "")
    pdf.cell(60, 4, PDF_CHART_UNIT)
    x = pdf.l_margin + pdf.epw - 55
    for label, color in ((PDF_CHART_PLANNED, planned_color), (PDF_CHART_DELIVERED, delivered_color)):
        pdf.set_fill_color(*color)
        pdf.rect(x, legend_y + 0.8, 3.5, 2.6, style="F")
        pdf.set_xy(x + 4.5, legend_y)
        pdf.cell(22, 4, label)
        x += 27

    pdf.set_draw_color(215, 215, 215)
    pdf.set_line_width(0.15)
    for step in range(5):
        value = peak * step / 4
        y = bottom - chart_h * step / 4
        pdf.line(left, y, left + width, y)
        pdf.set_xy(pdf.l_margin, y - 2)
        pdf.cell(axis_w - 1.5, 4, vn_number(value, 0 if value == int(value) else 1), align="R")

    slot = width / len(report.days)
    for index, day in enumerate(report.days):
        x = left + index * slot
        for value, color, share in ((day.totals.planned, planned_color, 0.84),
                                    (day.totals.delivered, delivered_color, 0.5)):
            if value <= 0:
                continue
            bar_h = chart_h * value / peak
            pdf.set_fill_color(*color)
            pdf.rect(x + slot * (1 - share) / 2, bottom - bar_h, slot * share, bar_h, style="F")

    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.25)
    pdf.line(left, bottom, left + width, bottom)
    pdf.line(left, top, left, bottom)
    label_every = max(1, math.ceil(len(report.days) / 10))
    for index in range(0, len(report.days), label_every):
        x = left + (index + 0.5) * slot
        pdf.line(x, bottom, x, bottom + 1)
        pdf.set_xy(x - 8, bottom + 1.2)
        pdf.cell(16, 4, f"{report.days[index].day:%d/%m}", align="C")
    pdf.set_xy(pdf.l_margin, bottom + labels_h)
    pdf.set_font(FONT, "", 9)


def _pdf_gaps(pdf: FPDF, report: AcceptanceReport) -> None:
    _pdf_section(pdf, SECTION_GAPS)
    if not report.gaps:
        _pdf_paragraph(pdf, PDF_NO_GAPS)
        return
    with pdf.table(col_widths=(46, 21, 33, 15, 50), headings_style=_HEADINGS, line_height=4.6,
                   text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "LEFT"), cell_fill_color=_ZEBRA,
                   cell_fill_mode=TableCellFillMode.EVEN_ROWS, width=pdf.epw) as table:
        table.row(PDF_GAP_COLUMNS)
        for gap in report.gaps:
            table.row((_text(f"{gap.code} – {gap.name}"), _vn_date(gap.day), _text(gap.hours) or NONE_MARK,
                       vn_number(_missing(gap)), gap_reason(gap.kind)))


def _split_hash(head: str) -> str:
    # a 64-digit hash has no break point; two halves fit the column on two lines
    return f"{head[:32]}\n{head[32:]}" if len(head) > 32 else head or NONE_MARK


def _pdf_chains(pdf: FPDF, report: AcceptanceReport, zone: tzinfo) -> None:
    _pdf_section(pdf, SECTION_CHAINS)
    if not report.chains:
        _pdf_paragraph(pdf, PDF_NO_CHAINS)
        return
    bad = sum(1 for row in report.chains if not row.ok)
    verdict = (PDF_CHAINS_ALL_OK.format(count=len(report.chains)) if not bad
               else PDF_CHAINS_SOME_BAD.format(bad=bad, count=len(report.chains)))
    _pdf_paragraph(pdf, verdict, "B")
    if scope := _chain_scope(report, zone):
        _pdf_paragraph(pdf, scope + ".")
    pdf.ln(1)
    mono = FontFace(family=MONO_FONT, size_pt=6)
    with pdf.table(col_widths=(40, 17, 16, 52, 40), headings_style=_HEADINGS, line_height=4.2,
                   text_align=("LEFT", "LEFT", "RIGHT", "LEFT", "LEFT"), width=pdf.epw) as table:
        table.row(PDF_CHAIN_COLUMNS)
        for chain in report.chains:
            row = table.row()
            row.cell(_text(f"{chain.code} – {chain.name}"))
            row.cell(CHAIN_OK if chain.ok else CHAIN_BAD, style=None if chain.ok else _TOTAL_ROW)
            row.cell(vn_number(chain.entries))
            row.cell(_split_hash(chain.head_hash), style=mono)
            row.cell(_text(chain.problem) or NONE_MARK)


def _frame_image(frame: Frame) -> Image.Image | None:
    try:
        with Image.open(io.BytesIO(frame.png)) as image:
            image.load()
            picture = image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    if picture.width > FRAME_PIXELS:
        picture.thumbnail((FRAME_PIXELS, FRAME_PIXELS * 4))
    return picture


def _pdf_frames(pdf: FPDF, report: AcceptanceReport, zone: tzinfo) -> None:
    _pdf_section(pdf, SECTION_FRAMES, needs=50)
    if not report.frames:
        _pdf_paragraph(pdf, PDF_NO_FRAMES)
        return
    shown = report.frames[:MAX_FRAMES]
    columns, gutter = 3, 4.0
    cell_w = (pdf.epw - gutter * (columns - 1)) / columns
    max_image_h = 40.0
    caption_h = 8.0
    for start in range(0, len(shown), columns):
        pictures = [(frame, _frame_image(frame)) for frame in shown[start:start + columns]]
        heights = [min(max_image_h, cell_w * p.height / p.width) if p else 6.0 for _, p in pictures]
        row_h = max(heights) + caption_h + 3
        if pdf.get_y() + row_h > pdf.page_break_trigger:
            pdf.add_page()
        top = pdf.get_y()
        for column, ((frame, picture), height) in enumerate(zip(pictures, heights)):
            x = pdf.l_margin + column * (cell_w + gutter)
            if picture is not None:
                width = min(cell_w, height * picture.width / picture.height)
                pdf.image(picture, x=x + (cell_w - width) / 2, y=top, w=width, h=height)
                pdf.set_draw_color(160, 160, 160)
                pdf.rect(x + (cell_w - width) / 2, top, width, height)
            else:
                pdf.set_xy(x, top)
                pdf.set_font(FONT, "I", 7.5)
                pdf.cell(cell_w, height, PDF_FRAME_UNREADABLE, align="C")
            pdf.set_xy(x, top + max(heights) + 0.8)
            pdf.set_font(FONT, "I", 7.5)
            taken = _local(frame.taken_at, zone)
            pdf.multi_cell(cell_w, 3.6, _text(f"{frame.code} – {frame.name}\n{_vn_moment(taken)}"), align="C")
        pdf.set_xy(pdf.l_margin, top + row_h)
    pdf.set_draw_color(0, 0, 0)
    if len(report.frames) > MAX_FRAMES:
        _pdf_paragraph(pdf, PDF_FRAMES_MORE.format(shown=MAX_FRAMES, count=len(report.frames)), "I")


def _pdf_signatures(pdf: FPDF) -> None:
    """Two signers side by side, then the recipients bottom left, kept together on one page."""
    block_h = 62.0
    if pdf.get_y() + block_h > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(8)
    half = pdf.epw / 2
    top = pdf.get_y()
    for column, signer in enumerate((PDF_AUTHOR_SIGNER, PDF_HEAD_SIGNER)):
        x = pdf.l_margin + column * half
        pdf.set_xy(x, top)
        pdf.set_font(FONT, "B", 10)
        pdf.cell(half, 5.5, signer, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font(FONT, "I", 9)
        pdf.cell(half, 5, PDF_SIGN_HINT, align="C")
    pdf.set_xy(pdf.l_margin, top + 10.5 + 28)  # room for the signatures and the seal
    pdf.set_font(FONT, "B", 9)
    pdf.cell(0, 5, PDF_RECIPIENTS, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 8.5)
    for line in PDF_RECIPIENT_LINES:
        pdf.cell(0, 4.2, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def to_pdf(report: AcceptanceReport, *, zone: tzinfo = DEFAULT_ZONE) -> bytes:
    """The report as an A4 administrative document to sign, with DejaVu Sans embedded."""
    pdf = _new_pdf(report, zone)
    pdf.add_page()
    _pdf_letterhead(pdf, report, zone)
    _pdf_title(pdf, report)
    _pdf_summary(pdf, report, zone)
    _pdf_boards(pdf, report)
    _pdf_chart(pdf, report)
    _pdf_gaps(pdf, report)
    _pdf_chains(pdf, report, zone)
    _pdf_frames(pdf, report, zone)
    _pdf_signatures(pdf)
    return bytes(pdf.output())


# format -> (writer, media type); the CLI, the report page and the API offer exactly these.
FORMATS: dict[str, tuple[Callable[..., bytes], str]] = {
    "csv": (to_csv, "text/csv; charset=utf-8"),
    "xlsx": (to_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pdf": (to_pdf, "application/pdf"),
}


def export(report: AcceptanceReport, fmt: str, zone: tzinfo = DEFAULT_ZONE) -> tuple[bytes, str]:
    """The report in `fmt` and its media type."""
    writer, media_type = FORMATS[fmt]
    return writer(report, zone=zone), media_type


def file_name(report: AcceptanceReport, fmt: str) -> str:
    """e.g. bao-cao-nghiem-thu-81-KH-STNMT-chien-dich-12-2024-07-01-2024-09-30.pdf (ASCII, safe in any header)."""
    scope = report.scope
    plan = re.sub(r"[^A-Za-z0-9]+", "-", scope.plan_number).strip("-") or "ke-hoach"
    what = f"chien-dich-{scope.campaign_id}" if scope.campaign_id is not None else "toan-ke-hoach"
    return f"bao-cao-nghiem-thu-{plan}-{what}-{scope.date_from.isoformat()}-{scope.date_to.isoformat()}.{fmt}"
