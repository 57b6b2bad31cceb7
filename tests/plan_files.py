"""Builders of plan files (.docx, .xlsx, .csv, .tsv, .txt) for unit, integration and browser tests.

Importable as ``import plan_files`` (pyproject sets ``pythonpath = ["tests"]``).

A *row* is either a PlanRow-like object (attributes number, title, lead_unit,
partner_units, form_text, period_text) or a sequence of cell strings in the column
order of ``headers``; cell rows may be continuation rows (first cell empty) or
repeated header rows, exactly as a page-broken export would have them.
*head* is the text before the table, one entry per paragraph / line / sheet row.
"""
from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union

HEADERS_VI: tuple[str, ...] = ("STT", "Nội dung công việc", "Cơ quan chủ trì", "Cơ quan phối hợp",
                               "Hình thức thực hiện", "Thời gian thực hiện")
HEADERS_EN: tuple[str, ...] = ("No.", "Task", "Lead unit", "Partner units", "Form", "Period")

DEMO_PLAN_PATH = Path(__file__).resolve().parents[1] / "cms" / "demo" / "ke-hoach-81-KH-STNMT-2024.txt"

Row = Union[Sequence[str], Any]


def row_cells(row: Row) -> list[str]:
    """The six cell texts of a PlanRow-like object, or the given cells as strings."""
    if hasattr(row, "title"):
        return [str(row.number), row.title, row.lead_unit, row.partner_units, row.form_text, row.period_text]
    return ["" if cell is None else str(cell) for cell in row]


def demo_plan_bytes() -> bytes:
    """The real plan 81/KH-STNMT as shipped in cms/demo (plain-text export, tab-separated appendix)."""
    return DEMO_PLAN_PATH.read_bytes()


def demo_plan_parts() -> tuple[list[str], list[list[str]]]:
    """Head lines and raw table rows of the demo plan: repeated header lines removed,
    continuation rows (first cell empty) kept, HTML in cells kept."""
    head: list[str] = []
    rows: list[list[str]] = []
    in_table = False
    for line in demo_plan_bytes().decode("utf-8-sig").splitlines():
        cells = line.split("\t")
        if tuple(cells) == HEADERS_VI:
            in_table = True
        elif not in_table:
            head.append(line)
        elif "\t" in line:
            rows.append(cells)
    return head, rows


def demo_page_breaks() -> list[int]:
    """Indexes into demo_plan_parts()[1] where the printed pages (and the header) restart."""
    breaks: list[int] = []
    count = 0
    in_table = False
    for line in demo_plan_bytes().decode("utf-8-sig").splitlines():
        if tuple(line.split("\t")) == HEADERS_VI:
            if in_table:
                breaks.append(count)
            in_table = True
        elif in_table and "\t" in line:
            count += 1
    return breaks


def _chunks(rows: Sequence[Row], split_at: Sequence[int]) -> list[list[list[str]]]:
    bounds = [0, *sorted(split_at), len(rows)]
    return [[row_cells(r) for r in rows[a:b]] for a, b in zip(bounds, bounds[1:])]


def build_docx(rows: Sequence[Row], head: Sequence[str] = (), *, headers: Sequence[str] = HEADERS_VI,
               split_at: Sequence[int] = (), caption: Sequence[str] = ()) -> bytes:
    """A Word document: head paragraphs, then the table; a new table (header repeated, a page
    break before it) starts at each index in split_at. caption paragraphs go just before the table."""
    import docx
    from docx.enum.text import WD_BREAK

    document = docx.Document()
    for line in [*head, *caption]:
        document.add_paragraph(line)
    for index, chunk in enumerate(_chunks(rows, split_at)):
        if index:
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        table = document.add_table(rows=0, cols=len(headers))
        for cells in [list(headers), *chunk]:
            for cell, text in zip(table.add_row().cells, cells):
                cell.text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def build_xlsx(rows: Sequence[Row], head: Sequence[str] = (), *, headers: Sequence[str] = HEADERS_VI,
               sheet_title: str = "Phụ lục", sheets_before: int = 0, numbers_as_int: bool = True) -> bytes:
    """A workbook whose sheet holds head lines (one per row, column A) above the header row.
    sheets_before adds sheets without a table in front. Cell rows are written as given (so floats,
    dates stay typed); with numbers_as_int a digit-only STT string becomes a number (1, not "1")."""
    import openpyxl

    workbook = openpyxl.Workbook()
    first = workbook.active
    for index in range(sheets_before):
        sheet = first if index == 0 else workbook.create_sheet()
        sheet.title = f"Ghi chú {index + 1}"
        sheet.append(["Ghi chú", "Không có bảng ở trang này"])
    sheet = first if sheets_before == 0 else workbook.create_sheet()
    sheet.title = sheet_title
    for line in head:
        sheet.append([line])
    sheet.append(list(headers))
    for row in rows:
        cells: list[Any] = row_cells(row) if hasattr(row, "title") else list(row)  # values kept as given
        if numbers_as_int and cells and isinstance(cells[0], str) and cells[0].strip().isdigit():
            cells[0] = int(cells[0])
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def build_csv(rows: Sequence[Row], head: Sequence[str] = (), *, headers: Sequence[str] = HEADERS_VI,
              delimiter: str = ",", encoding: str = "utf-8-sig") -> bytes:
    """CSV (or TSV with delimiter="\\t"): head lines as one-cell rows, then the header and the rows."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for line in head:
        writer.writerow([line])
    writer.writerow(list(headers))
    for row in rows:
        writer.writerow(row_cells(row))
    return out.getvalue().encode(encoding)


def build_tsv(rows: Sequence[Row], head: Sequence[str] = (), *, headers: Sequence[str] = HEADERS_VI,
              encoding: str = "utf-8-sig") -> bytes:
    return build_csv(rows, head, headers=headers, delimiter="\t", encoding=encoding)


def build_txt(rows: Sequence[Row], head: Sequence[str] = (), *, headers: Sequence[str] = HEADERS_VI,
              split_at: Sequence[int] = (), encoding: str = "utf-8") -> bytes:
    """The plain-text export shape: head lines, then tab-separated lines; the header line is
    repeated after a blank line at each index in split_at."""
    lines = list(head)
    for index, chunk in enumerate(_chunks(rows, split_at)):
        if index:
            lines.append("")
        lines.append("\t".join(headers))
        lines.extend("\t".join(cells) for cells in chunk)
    return "\n".join(lines).encode(encoding)


def build_zip_bomb(uncompressed_bytes: int, *, member: str = "word/document.xml") -> bytes:
    """A small zip (valid .docx/.xlsx container shape) whose member inflates to uncompressed_bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open(member, "w", force_zip64=True) as stream:
            block = b" " * (1024 * 1024)
            remaining = uncompressed_bytes
            while remaining > 0:
                stream.write(block[:remaining])
                remaining -= len(block)
    return out.getvalue()
