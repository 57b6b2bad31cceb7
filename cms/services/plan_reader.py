"""Read a yearly communications plan (Kế hoạch) into its metadata and task rows.

Pure: no Flask, no database. `read_plan` accepts the bytes of an uploaded file and
returns a `PlanDocument`, or raises `PlanReadError` with a stable code:

- ``plan_too_large``         the file (or a zip member total) is over the limit, or too many rows
- ``plan_unsupported_format`` an extension other than .txt/.docx/.xlsx/.csv/.tsv (or a legacy binary)
- ``plan_corrupt``            the file cannot be decoded or opened as its extension says
- ``plan_no_table``           no recognisable header row (STT / Nội dung công việc / ...)
- ``plan_missing_columns``    a header row without one of the required columns
- ``plan_no_rows``            a header row but no task rows under it
- ``plan_bad_row_number``     a task row whose STT is not a whole number

Every format reader produces the same raw shape -- the text before the table (head
lines) and the raw table cell rows -- and one shared function finds the header row,
maps the columns by name, skips repeated headers (one per printed page), merges the
continuation rows a page break leaves behind (first column empty) and parses the
plan's number, date, issuing body and basis from the head lines.
"""
from __future__ import annotations

import codecs
import csv
import html
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, NamedTuple

from cms.errors import PlanReadError

if TYPE_CHECKING:
    from docx.table import Table

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
SUPPORTED_FORMATS = ("txt", "docx", "xlsx", "csv", "tsv")

MAX_ROWS = 20_000  # non-empty table rows accepted from any format
MAX_SCANNED_ROWS = 100_000  # spreadsheet rows looked at, empty ones included
MAX_COLUMNS = 64  # cells read per row
ZIP_EXPANSION_LIMIT = 20  # uncompressed zip members may total this many times max_bytes
_XML_PROBE_BYTES = 64 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# Column fields in PlanRow order, their display names, and the header texts accepted
# for each (compared after NFC, whitespace collapse and casefold).
FIELDS = ("number", "title", "lead_unit", "partner_units", "form_text", "period_text")
REQUIRED_FIELDS = ("number", "title", "lead_unit", "period_text")
COLUMN_NAMES = {
    "number": "STT",
    "title": "Nội dung công việc",
    "lead_unit": "Cơ quan chủ trì",
    "partner_units": "Cơ quan phối hợp",
    "form_text": "Hình thức thực hiện",
    "period_text": "Thời gian thực hiện",
}
_HEADER_ALIASES = {
    "number": ("stt", "số tt", "tt", "số thứ tự", "no.", "no", "#"),
    "title": ("nội dung công việc", "nội dung", "nội dung nhiệm vụ", "task", "tasks"),
    "lead_unit": ("cơ quan chủ trì", "đơn vị chủ trì", "cơ quan, đơn vị chủ trì", "cơ quan/đơn vị chủ trì",
                  "chủ trì", "lead unit", "lead"),
    "partner_units": ("cơ quan phối hợp", "đơn vị phối hợp", "cơ quan, đơn vị phối hợp",
                      "cơ quan/đơn vị phối hợp", "phối hợp", "partner units", "partners"),
    "form_text": ("hình thức thực hiện", "hình thức", "form"),
    "period_text": ("thời gian thực hiện", "thời gian", "thời gian hoàn thành", "period"),
}
_HEADER_KEYS = {alias: field for field, aliases in _HEADER_ALIASES.items() for alias in aliases}


@dataclass(frozen=True)
class PlanMeta:
    number: str | None  # "81/KH-STNMT"
    title: str | None  # the line(s) after the "KẾ HOẠCH" heading
    issuing_body: str | None  # "Sở Tài nguyên và Môi trường"
    issued_on: date | None
    place: str | None  # "Bà Rịa – Vũng Tàu"
    basis: str | None  # "Quyết định số 1596/QĐ-UBND ngày 20/6/2024"
    year: int | None  # issued year, else the year named in the title


@dataclass(frozen=True)
class PlanRow:
    number: int  # STT
    title: str  # Nội dung công việc
    lead_unit: str  # Cơ quan chủ trì
    partner_units: str  # Cơ quan phối hợp, raw (lines kept); see split_units
    form_text: str  # Hình thức thực hiện, HTML stripped, whitespace collapsed
    period_text: str  # Thời gian thực hiện, trimmed only


@dataclass(frozen=True)
class PlanDocument:
    meta: PlanMeta
    rows: tuple[PlanRow, ...]
    format: str  # one of SUPPORTED_FORMATS


class RawPlan(NamedTuple):
    """What every format reader yields: the text before the table and the raw cell rows."""

    head_lines: list[str]
    table_rows: list[list[str]]


# --------------------------------------------------------------------------- public API


def read_plan(data: bytes, filename: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> PlanDocument:
    """Parse an uploaded plan file; raises PlanReadError (never anything else) when it cannot."""
    fmt = _format_of(filename)
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    raw = _READERS[fmt](data, max_bytes)
    return _assemble(raw, fmt)


def split_units(text: str) -> list[str]:
    """Partner units named in one cell: split on ";" and line breaks, trimmed, no trailing "."."""
    units = []
    for piece in re.split(r"[;\n\r]+", unicodedata.normalize("NFC", text)):
        unit = _BULLET_RE.sub("", _collapse(piece)).rstrip(".").strip()
        if unit:
            units.append(unit)
    return units


def parse_meta(lines: Iterable[str]) -> PlanMeta:
    """Number, title, issuing body, date, place, basis and year from the text before the table."""
    clean = _meta_lines(lines)
    title = _meta_title(clean)
    issued_on, place = _meta_date(clean)
    year = issued_on.year if issued_on else _title_year(title)
    return PlanMeta(number=_meta_number(clean), title=title, issuing_body=_meta_body(clean),
                    issued_on=issued_on, place=place, basis=_meta_basis(title, clean), year=year)


# --------------------------------------------------------------------------- errors


def _too_large(max_bytes: int) -> PlanReadError:
    return PlanReadError("The plan file is larger than the %(limit_mb)s MB limit.", code="plan_too_large",
                         limit=max_bytes, limit_mb=f"{max_bytes / (1024 * 1024):g}")


def _corrupt(kind: str) -> PlanReadError:
    return PlanReadError("The file cannot be read as a %(kind)s document; it may be damaged.",
                         code="plan_corrupt", kind=kind)


# --------------------------------------------------------------------------- format detection


def _format_of(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in SUPPORTED_FORMATS:
        raise PlanReadError("Files of type %(ext)s are not supported; upload a .docx, .xlsx, .csv, .tsv or .txt file.",
                            code="plan_unsupported_format", ext=f".{ext}" if ext else "(none)")
    return ext


# --------------------------------------------------------------------------- text formats


def _decode_text(data: bytes) -> str:
    """UTF-8 (BOM optional) or UTF-16 with a BOM; NUL characters mean a binary file."""
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlanReadError("The text file is not valid UTF-8 or UTF-16.", code="plan_corrupt", kind="text") from exc
    if "\x00" in text:
        raise PlanReadError("The text file contains binary data.", code="plan_corrupt", kind="text")
    return text


def _read_txt(data: bytes, max_bytes: int) -> RawPlan:
    """Tab-separated table lines after the first header line; other lines are head text."""
    head: list[str] = []
    rows: list[list[str]] = []
    in_table = False
    for line in _decode_text(data).splitlines():
        if "\t" not in line:
            if not in_table:
                head.append(line)
            continue  # inside the table: page numbers, blank lines
        cells = line.split("\t")
        if in_table or _is_header_row(cells):
            in_table = True
            rows.append(cells)
        else:
            head.append(line.replace("\t", " "))
    return RawPlan(head, rows)


def _read_csv(data: bytes, max_bytes: int) -> RawPlan:
    """Comma- or semicolon-separated: the delimiter that yields a header row wins."""
    return _read_delimited(_decode_text(data), (",", ";"))


def _read_tsv(data: bytes, max_bytes: int) -> RawPlan:
    return _read_delimited(_decode_text(data), ("\t",))


def _read_delimited(text: str, delimiters: Sequence[str]) -> RawPlan:
    fallback: list[list[str]] | None = None
    for delimiter in delimiters:
        rows = _parse_delimited(text, delimiter)
        if _find_header(rows) is not None:
            return RawPlan([], rows)
        fallback = rows if fallback is None else fallback
    return RawPlan([], fallback or [])


def _parse_delimited(text: str, delimiter: str) -> list[list[str]]:
    try:
        return [row[:MAX_COLUMNS] for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise PlanReadError("The CSV file cannot be parsed: %(detail)s", code="plan_corrupt",
                            kind="csv", detail=str(exc)[:200]) from exc


# --------------------------------------------------------------------------- zip containers


def _check_zip(data: bytes, max_bytes: int, kind: str) -> None:
    """A .docx/.xlsx must be a zip whose members are neither too big in total nor carry a DTD."""
    if data.startswith(_OLE_MAGIC):
        raise PlanReadError("This is an old binary Office file; save it as .docx or .xlsx and upload again.",
                            code="plan_unsupported_format", ext=f".{kind}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if sum(member.file_size for member in members) > ZIP_EXPANSION_LIMIT * max_bytes:
                raise _too_large(max_bytes)
            for member in members:
                if _declares_dtd(archive, member):
                    raise _corrupt(kind)
    except PlanReadError:
        raise
    except Exception as exc:  # BadZipFile, bad compression data, CRC errors, truncated members...
        raise _corrupt(kind) from exc


def _declares_dtd(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """Office XML never has a DOCTYPE; one would only be there to expand entities."""
    if not member.filename.lower().endswith((".xml", ".rels")):
        return False
    with archive.open(member) as stream:
        return b"<!DOCTYPE" in stream.read(_XML_PROBE_BYTES).upper()


# --------------------------------------------------------------------------- docx


def _read_docx(data: bytes, max_bytes: int) -> RawPlan:
    _check_zip(data, max_bytes, "docx")
    try:
        return _docx_content(data)
    except PlanReadError:
        raise
    except Exception as exc:  # PackageNotFoundError, KeyError, ValueError, lxml errors...
        raise _corrupt("docx") from exc


def _docx_content(data: bytes) -> RawPlan:
    """Paragraphs (and layout tables before the appendix) are head text; appendix tables are rows."""
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    head: list[str] = []
    rows: list[list[str]] = []
    width: int | None = None  # grid width of the first table with a header row
    for block in document.iter_inner_content():
        if not isinstance(block, Table):
            head.append(block.text)
            continue
        grid = _docx_grid(block)
        has_header = _find_header(grid) is not None
        if width is None and not has_header:
            head.extend(_cell_lines(grid))
        elif width is None or has_header or _grid_width(grid) == width:
            width = width or _grid_width(grid)
            rows.extend(grid)
    return RawPlan(head, rows)


def _docx_grid(table: Table) -> list[list[str]]:
    """Cell texts on the layout grid, each merged cell's text given once.

    A horizontal span fills its extra grid columns with "". A vertical span repeats its
    text in later rows -- unless the first column is itself continued, which makes the
    row a continuation of the task above, so the continued cells become "".
    """
    from docx.text.paragraph import Paragraph

    grid: list[list[str]] = []
    span_text: dict[int, str] = {}  # grid column -> text of the cell a vertical span started with
    for tr in table._tbl.tr_lst:
        cells = [""] * min(tr.grid_before, MAX_COLUMNS)
        continued = [False] * len(cells)
        for tc in tr.tc_lst:
            column = len(cells)
            if column >= MAX_COLUMNS:
                break
            if tc.vMerge == "continue":
                text, is_continued = span_text.get(column, ""), True
            else:
                text, is_continued = "\n".join(Paragraph(p, table).text for p in tc.p_lst), False
                span_text[column] = text
            span = max(1, min(tc.grid_span, MAX_COLUMNS - column))
            cells.extend([text] + [""] * (span - 1))
            continued.extend([is_continued] * span)
        if continued and continued[0]:
            cells = ["" if flag else text for text, flag in zip(cells, continued)]
        grid.append(cells)
    return grid


def _grid_width(grid: Sequence[Sequence[str]]) -> int:
    return max((len(row) for row in grid), default=0)


def _cell_lines(grid: Iterable[Sequence[str]]) -> list[str]:
    return [line for row in grid for cell in row for line in cell.split("\n")]


# --------------------------------------------------------------------------- xlsx


def _read_xlsx(data: bytes, max_bytes: int) -> RawPlan:
    """The first sheet with a header row; rows above the header become head text."""
    _check_zip(data, max_bytes, "xlsx")
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # InvalidFileException, KeyError, BadZipFile, XML errors...
            raise _corrupt("xlsx") from exc
        try:
            return _workbook_rows(workbook.worksheets)
        except PlanReadError:
            raise
        except Exception as exc:
            raise _corrupt("xlsx") from exc
        finally:
            workbook.close()


def _workbook_rows(sheets: Iterable[Any]) -> RawPlan:
    budget = _RowBudget()
    first: list[list[str]] | None = None
    for sheet in sheets:
        rows = _sheet_rows(sheet, budget)
        if _find_header(rows) is not None:
            return RawPlan([], rows)
        first = rows if first is None else first
    return RawPlan([], first or [])


class _RowBudget:
    """Bounds the rows read from a workbook: empty ones loosely, filled ones tightly."""

    def __init__(self) -> None:
        self.scanned = 0
        self.filled = 0

    def take(self, filled: bool) -> None:
        self.scanned += 1
        self.filled += filled
        if self.scanned > MAX_SCANNED_ROWS or self.filled > MAX_ROWS:
            raise PlanReadError("The spreadsheet has more than %(limit)s rows.", code="plan_too_large",
                                limit=MAX_ROWS)


def _sheet_rows(sheet: Any, budget: _RowBudget) -> list[list[str]]:
    rows: list[list[str]] = []
    for values in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
        cells = [_xlsx_text(value) for value in values]
        filled = any(cells)
        budget.take(filled)
        rows.append(cells)
    while rows and not any(rows[-1]):
        rows.pop()
    return rows


def _xlsx_text(value: object) -> str:
    """A cell value as the text a person sees: 1.0 -> "1", dates as dd/mm/yyyy."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y" if value.time() == time(0) else "%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


_READERS: dict[str, Callable[[bytes, int], RawPlan]] = {
    "txt": _read_txt,
    "docx": _read_docx,
    "xlsx": _read_xlsx,
    "csv": _read_csv,
    "tsv": _read_tsv,
}


# --------------------------------------------------------------------------- cell text

_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*>|<!--.*?-->", re.DOTALL)
_BLOCK_TAGS = frozenset({"br", "p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2", "h3", "h4"})
_BULLET_RE = re.compile(r"^[-–—•+*]\s*")


def _strip_html(text: str) -> str:
    """Tags removed (block tags leave a line break), entities decoded -- only when tags are present."""
    if not _TAG_RE.search(text):
        return text
    stripped = _TAG_RE.sub(lambda m: "\n" if (m.group(2) or "").lower() in _BLOCK_TAGS else "", text)
    return html.unescape(stripped)


def _clean_cell(text: str) -> str:
    return _strip_html(unicodedata.normalize("NFC", text)).replace("\r\n", "\n").replace("\r", "\n")


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _collapse_lines(text: str) -> str:
    """Whitespace collapsed within each line; blank lines dropped; line breaks kept."""
    return "\n".join(line for line in (_collapse(part) for part in text.split("\n")) if line)


_FINISH: dict[str, Callable[[str], str]] = {
    "title": _collapse,
    "lead_unit": _collapse,
    "partner_units": _collapse_lines,
    "form_text": _collapse,
    "period_text": str.strip,
}


# --------------------------------------------------------------------------- header rows


def _header_key(cell: str) -> str:
    return _collapse(_clean_cell(cell)).casefold().strip(" :*")


def _header_fields(cells: Sequence[str]) -> dict[str, int]:
    """Field -> column index for every cell that is a known header text (first one wins)."""
    fields: dict[str, int] = {}
    for index, cell in enumerate(cells[:MAX_COLUMNS]):
        field = _HEADER_KEYS.get(_header_key(cell))
        if field is not None:
            fields.setdefault(field, index)
    return fields


def _is_header_row(cells: Sequence[str]) -> bool:
    """Two or more known header texts in one row."""
    return len(_header_fields(cells)) >= 2


def _is_subheader_row(cells: Sequence[str]) -> bool:
    """Inside a table: a row made only of header texts (a repeated or second header line)."""
    filled = [cell for cell in cells if cell.strip()]
    return bool(filled) and all(_header_key(cell) in _HEADER_KEYS for cell in filled)


def _is_numbering_row(cells: Sequence[str]) -> bool:
    """The "(1) (2) (3) ..." line some tables carry under the header."""
    filled = [(index, cell.strip().strip("()")) for index, cell in enumerate(cells) if cell.strip()]
    return len(filled) >= 3 and all(text == str(index + 1) for index, text in filled)


def _find_header(rows: Sequence[Sequence[str]]) -> int | None:
    return next((index for index, row in enumerate(rows) if _is_header_row(row)), None)


def _read_header(rows: Sequence[Sequence[str]], at: int) -> tuple[dict[str, int], int]:
    """Column map from the header row (and a second header line under it); index of the first body row."""
    columns = _header_fields(rows[at])
    body = at + 1
    while body < len(rows) and _is_subheader_row(rows[body]):
        columns.update(_header_fields(rows[body]))
        body += 1
    missing = [COLUMN_NAMES[field] for field in REQUIRED_FIELDS if field not in columns]
    if missing:
        raise PlanReadError("The plan table is missing these columns: %(columns)s.", code="plan_missing_columns",
                            columns=", ".join(missing))
    return columns, body


# --------------------------------------------------------------------------- rows


def _assemble(raw: RawPlan, fmt: str) -> PlanDocument:
    """The shared half of every reader: header, rows, continuations, metadata."""
    rows = [[_clean_cell(cell) for cell in row[:MAX_COLUMNS]] for row in raw.table_rows]
    if sum(1 for row in rows if any(cell.strip() for cell in row)) > MAX_ROWS:
        raise PlanReadError("The plan table has more than %(limit)s rows.", code="plan_too_large", limit=MAX_ROWS)
    header_at = _find_header(rows)
    if header_at is None:
        raise PlanReadError("No task table was found: expected a header row with STT, Nội dung công việc, "
                            "Cơ quan chủ trì and Thời gian thực hiện.", code="plan_no_table")
    columns, body = _read_header(rows, header_at)
    plan_rows = _collect_rows(rows[body:], columns)
    if not plan_rows:
        raise PlanReadError("The plan table has a header but no task rows.", code="plan_no_rows")
    head = [*raw.head_lines, *_cell_lines(rows[:header_at])]
    return PlanDocument(meta=parse_meta(head), rows=tuple(plan_rows), format=fmt)


def _collect_rows(rows: Iterable[Sequence[str]], columns: dict[str, int]) -> list[PlanRow]:
    """Task rows; repeated headers skipped, first-column-empty rows merged into the task above."""
    result: list[PlanRow] = []
    current: tuple[int, dict[str, list[str]]] | None = None
    for row in rows:
        if not any(cell.strip() for cell in row) or _is_numbering_row(row):
            continue
        if _is_header_row(row) or _is_subheader_row(row):
            columns = {**columns, **_header_fields(row)}
            continue
        cells = {field: row[index].strip() if index < len(row) else "" for field, index in columns.items()}
        stt = cells.pop("number")
        if not stt:
            if current is not None:
                _extend(current[1], cells)
            continue
        number = _row_number(stt)
        if current is not None:
            result.append(_finish_row(*current))
            current = None
        if number is None:
            if cells.get("lead_unit") or cells.get("period_text"):
                raise PlanReadError("Task number %(value)s is not a whole number.", code="plan_bad_row_number",
                                    value=stt[:60])
            continue  # a section heading ("I. Lĩnh vực môi trường"), not a task
        current = (number, {field: [text] for field, text in cells.items()})
    if current is not None:
        result.append(_finish_row(*current))
    return result


def _row_number(text: str) -> int | None:
    match = re.fullmatch(r"([0-9]{1,9})[.)]?", text)
    return int(match.group(1)) if match else None


def _extend(pieces: dict[str, list[str]], cells: dict[str, str]) -> None:
    for field, text in cells.items():
        pieces.setdefault(field, []).append(text)


def _finish_row(number: int, pieces: dict[str, list[str]]) -> PlanRow:
    values = {field: _FINISH[field](" ".join(p for p in pieces.get(field, []) if p)) for field in FIELDS[1:]}
    return PlanRow(number=number, **values)


# --------------------------------------------------------------------------- metadata

_DATE_WORDS = r"ngày\s+([0-9]{1,2})\s+tháng\s+([0-9]{1,2})\s+năm\s+([0-9]{4})"
_DATE_SLASH = r"ngày\s+([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})"
_PLACE_DATE_RE = re.compile(rf"^(?P<place>[^0-9,;:()]{{2,80}}?)\s*,\s*(?:{_DATE_WORDS}|{_DATE_SLASH})", re.I)
_ANY_DATE_RE = re.compile(rf"(?:{_DATE_WORDS}|{_DATE_SLASH})", re.I)
_NUMBER_RE = re.compile(r"^Số\s*(?:hiệu)?\s*[:.]\s*(?P<value>[0-9].*)$", re.I)
_PLAN_NUMBER_RE = re.compile(r"Kế hoạch số\s+(?P<value>[0-9]+\s*/\s*[^\s,;()]+)", re.I)
_ANNEX_BODY_RE = re.compile(r"\(\s*(?:Ban hành\s+)?kèm theo\b.*?\s+của\s+(?P<body>[^()]+?)\s*\)", re.I)
_AUTHOR_BODY_RE = re.compile(r"^(?P<body>.{2,160}?)\s+xây dựng\s+kế hoạch", re.I)
_BASIS_RE = re.compile(
    r"(?:Quyết định|Chỉ thị|Nghị quyết|Kế hoạch|Công văn|Thông tư|Nghị định|Luật)\s+số\s+[0-9][^\s,;()]*"
    r"(?:\s+ngày\s+(?:[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}|[0-9]{1,2}\s+tháng\s+[0-9]{1,2}\s+năm\s+[0-9]{4}))?",
    re.I)
_TITLE_STOP_RE = re.compile(r"^(?:Căn cứ|Thực hiện|Triển khai|I\.|1\.)|^[\W_]+$", re.I)
_MAX_TITLE_LINES = 4
_MAX_META_LINE = 2000  # characters of a head line looked at


def _meta_lines(lines: Iterable[str]) -> list[str]:
    """NFC, HTML and markdown emphasis stripped, whitespace collapsed; one entry per line."""
    result = []
    for line in lines:
        for part in _clean_cell(line).split("\n"):
            result.append(_collapse(part[:_MAX_META_LINE]).strip("*_# ").strip())
    return result


def _meta_number(lines: Sequence[str]) -> str | None:
    for pattern in (_NUMBER_RE, _PLAN_NUMBER_RE):
        for line in lines:
            match = pattern.search(line)
            if match:
                value = re.sub(r"\s*/\s*", "/", match.group("value").strip())
                return value.split()[0]
    return None


def _meta_title(lines: Sequence[str]) -> str | None:
    start = next((i for i, line in enumerate(lines) if line.casefold() == "kế hoạch"), None)
    if start is None:
        return None
    parts: list[str] = []
    for line in lines[start + 1:]:
        if not line:
            if parts:
                break
            continue
        if _TITLE_STOP_RE.search(line) or len(parts) >= _MAX_TITLE_LINES:
            break
        parts.append(line)
    return " ".join(parts) or None


def _meta_date(lines: Sequence[str]) -> tuple[date | None, str | None]:
    """The "<place>, ngày dd tháng mm năm yyyy" line; else any plan date (without a place)."""
    for line in lines:
        match = _PLACE_DATE_RE.search(line)
        if match:
            return _date_of(match.groups()[1:]), match.group("place").strip(" .-–") or None
    for line in lines:
        match = _ANY_DATE_RE.search(line)
        if match and _PLAN_NUMBER_RE.search(line):
            return _date_of(match.groups()), None
    return None, None


def _date_of(groups: Sequence[str | None]) -> date | None:
    numbers = [g for g in groups if g is not None][:3]
    try:
        day, month, year = (int(n) for n in numbers)
        return date(year, month, day)
    except ValueError:
        return None


def _meta_body(lines: Sequence[str]) -> str | None:
    for pattern in (_ANNEX_BODY_RE, _AUTHOR_BODY_RE):
        for line in lines:
            match = pattern.search(line)
            if match:
                body = match.group("body").rsplit(",", 1)[-1].strip()
                if body:
                    return body
    return None


def _meta_basis(title: str | None, lines: Sequence[str]) -> str | None:
    candidates = [title or "", *(line for line in lines if line.casefold().startswith("căn cứ"))]
    for text in candidates:
        match = _BASIS_RE.search(text)
        if match:
            return match.group(0)
    return None


def _title_year(title: str | None) -> int | None:
    years = re.findall(r"năm\s+((?:19|20)[0-9]{2})\b", title or "", re.I)
    return int(years[-1]) if years else None
