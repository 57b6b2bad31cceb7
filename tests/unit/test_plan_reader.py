"""The plan reader: the real plan 81/KH-STNMT in every format, merged cells, errors, fuzzing."""
from __future__ import annotations

import io
import unicodedata
import zipfile
from datetime import date

import docx
import plan_files
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cms.errors import PlanReadError
from cms.services import plan_reader
from cms.services.plan_reader import PlanDocument, read_plan, split_units

TASK_7_TITLE = ("Truyền thông nâng cao Chỉ số Quản trị môi trường trong Chỉ số Hiệu quả quản trị "
                "và hành chính công cấp tỉnh (PAPI)")


@pytest.fixture(scope="module")
def demo() -> PlanDocument:
    return read_plan(plan_files.demo_plan_bytes(), "ke-hoach-81-KH-STNMT-2024.txt")


def row(document: PlanDocument, number: int) -> plan_reader.PlanRow:
    return next(r for r in document.rows if r.number == number)


def error_code(data: bytes, filename: str, **kwargs: int) -> str:
    with pytest.raises(PlanReadError) as info:
        read_plan(data, filename, **kwargs)
    return info.value.code


# --------------------------------------------------------------------------- the real plan, as text


def test_demo_plan_has_sixteen_numbered_rows(demo: PlanDocument) -> None:
    assert demo.format == "txt"
    assert [r.number for r in demo.rows] == list(range(1, 17))
    assert all(r.title and r.lead_unit and r.period_text for r in demo.rows)


def test_continuation_after_page_break_is_joined_per_column(demo: PlanDocument) -> None:
    task = row(demo, 7)
    assert task.title == TASK_7_TITLE
    assert task.lead_unit == "Phòng Quản lý môi trường"
    assert task.partner_units.startswith("Các Sở, ban, ngành có liên quan; Ủy ban nhân dân")
    assert task.period_text == "Năm 2024"


def test_task_9_keeps_its_period_and_joins_the_form(demo: PlanDocument) -> None:
    task = row(demo, 9)
    assert task.period_text == "Quý III/2024"
    assert "trên các phương tiện truyền thông của các đơn vị" in task.form_text
    assert task.partner_units.endswith("các tổ chức đoàn thể chính trị - xã hội trên địa bàn tỉnh và các đơn vị có liên quan")


def test_task_11_partner_units_continue_on_the_next_page(demo: PlanDocument) -> None:
    assert row(demo, 11).partner_units.endswith("trên địa bàn tỉnh và các đơn vị có liên quan.")
    assert split_units(row(demo, 11).partner_units)[-1] == (
        "các tổ chức đoàn thể chính trị - xã hội trên địa bàn tỉnh và các đơn vị có liên quan")


def test_task_15_form_text_joins_across_the_break(demo: PlanDocument) -> None:
    assert "các đơn vị, trên hệ thống Panoled" in row(demo, 15).form_text
    assert row(demo, 15).lead_unit == "Văn phòng sở"


def test_html_is_stripped_from_cells(demo: PlanDocument) -> None:
    form = row(demo, 4).form_text
    assert "<ul" not in form and "<" not in form
    assert form.startswith("- Tuyên truyền hoạt động thuộc “Tháng hành động vì môi trường”")
    assert "  " not in form


def test_meta_of_the_demo_plan(demo: PlanDocument) -> None:
    meta = demo.meta
    assert meta.number == "81/KH-STNMT"
    assert meta.issued_on == date(2024, 8, 5)
    assert meta.place == "Bà Rịa – Vũng Tàu"
    assert meta.issuing_body == "Sở Tài nguyên và Môi trường"
    assert meta.basis is not None and "1596/QĐ-UBND" in meta.basis
    assert meta.basis == "Quyết định số 1596/QĐ-UBND ngày 20/6/2024"
    assert meta.title is not None and meta.title.startswith("Tổ chức thực hiện Quyết định số 1596/QĐ-UBND")
    assert meta.title.endswith("năm 2024")
    assert meta.year == 2024


def test_split_units() -> None:
    text = "Các Sở, ban, ngành;  Ủy ban nhân dân các huyện\n- Báo Bà Rịa - Vũng Tàu.;; ;các đơn vị có liên quan."
    assert split_units(text) == ["Các Sở, ban, ngành", "Ủy ban nhân dân các huyện", "Báo Bà Rịa - Vũng Tàu",
                                 "các đơn vị có liên quan"]
    assert split_units("") == []
    assert split_units(unicodedata.normalize("NFD", "Sở Tư pháp")) == ["Sở Tư pháp"]


# --------------------------------------------------------------------------- the same plan, other formats


def _continuation_index(rows: list[list[str]]) -> int:
    return next(i for i, cells in enumerate(rows) if not cells[0].strip())


def test_docx_split_over_two_tables_gives_the_same_plan(demo: PlanDocument) -> None:
    head, rows = plan_files.demo_plan_parts()
    split = _continuation_index(rows)  # the second table starts with task 7's continuation
    data = plan_files.build_docx(rows, head, split_at=[split])
    assert len(docx.Document(io.BytesIO(data)).tables) == 2
    document = read_plan(data, "plan.docx")
    assert document.format == "docx"
    assert document.rows == demo.rows
    assert document.meta == demo.meta


def test_docx_with_every_page_as_its_own_table(demo: PlanDocument) -> None:
    head, rows = plan_files.demo_plan_parts()
    data = plan_files.build_docx(rows, head, split_at=plan_files.demo_page_breaks())
    assert len(docx.Document(io.BytesIO(data)).tables) == 6
    assert read_plan(data, "plan.DOCX").rows == demo.rows


def test_docx_built_from_parsed_rows_round_trips(demo: PlanDocument) -> None:
    head, _ = plan_files.demo_plan_parts()
    document = read_plan(plan_files.build_docx(demo.rows, head, split_at=[8]), "plan.docx")
    assert document.rows == demo.rows
    assert document.meta == demo.meta


def test_xlsx_with_head_rows_above_the_header(demo: PlanDocument) -> None:
    head, rows = plan_files.demo_plan_parts()
    document = read_plan(plan_files.build_xlsx(rows, head), "plan.xlsx")
    assert document.format == "xlsx"
    assert document.rows == demo.rows
    assert document.meta == demo.meta


def test_xlsx_table_on_a_later_sheet(demo: PlanDocument) -> None:
    head, rows = plan_files.demo_plan_parts()
    document = read_plan(plan_files.build_xlsx(rows, head, sheets_before=2), "plan.xlsx")
    assert document.rows == demo.rows


def test_xlsx_float_numbers_become_integers() -> None:
    rows = [[1.0, "Tiêu đề", "Phòng A", "", "", "Năm 2024"], [2, "Khác", "Phòng B", "", "", 2024.0]]
    document = read_plan(plan_files.build_xlsx(rows, numbers_as_int=False), "p.xlsx")
    assert [r.number for r in document.rows] == [1, 2]
    assert document.rows[1].period_text == "2024"


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_csv_gives_the_same_plan(demo: PlanDocument, delimiter: str) -> None:
    head, rows = plan_files.demo_plan_parts()
    document = read_plan(plan_files.build_csv(rows, head, delimiter=delimiter), "plan.csv")
    assert document.format == "csv"
    assert document.rows == demo.rows
    assert document.meta == demo.meta


def test_tsv_in_utf16_gives_the_same_plan(demo: PlanDocument) -> None:
    head, rows = plan_files.demo_plan_parts()
    document = read_plan(plan_files.build_tsv(rows, head, encoding="utf-16"), "plan.tsv")
    assert document.format == "tsv"
    assert document.rows == demo.rows


def test_txt_builder_matches_the_demo_file(demo: PlanDocument) -> None:
    head, rows = plan_files.demo_plan_parts()
    data = plan_files.build_txt(rows, head, split_at=plan_files.demo_page_breaks())
    assert read_plan(data, "plan.txt") == demo


def test_english_headers_in_any_order() -> None:
    headers = ("Period", "Task", "No.", "Lead unit", "Form", "Partner units")
    rows = [["Q3/2024", "Clean-up day", "1", "Environment office", "Posters", "A; B"],
            ["", "on the beach", "", "", "", "C"]]
    document = read_plan(plan_files.build_csv(rows, headers=headers), "en.csv")
    (task,) = document.rows
    assert (task.number, task.title, task.lead_unit, task.period_text) == (1, "Clean-up day on the beach",
                                                                          "Environment office", "Q3/2024")
    assert split_units(task.partner_units) == ["A", "B C"]


def test_optional_columns_may_be_absent() -> None:
    headers = ("Số TT", "Nội dung công việc", "Cơ quan chủ trì", "Thời gian thực hiện")
    document = read_plan(plan_files.build_csv([["1", "Việc", "Phòng A", "Tháng 6/2024"]], headers=headers), "p.csv")
    assert document.rows[0].partner_units == "" and document.rows[0].form_text == ""


def test_nfd_input_gives_nfc_output(demo: PlanDocument) -> None:
    text = plan_files.demo_plan_bytes().decode("utf-8")
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    document = read_plan(nfd.encode("utf-8"), "nfd.txt")
    assert document == demo
    head, rows = plan_files.demo_plan_parts()
    nfd_rows = [[unicodedata.normalize("NFD", cell) for cell in cells] for cells in rows]
    nfd_head = [unicodedata.normalize("NFD", line) for line in head]
    assert read_plan(plan_files.build_docx(nfd_rows, nfd_head), "nfd.docx").rows == demo.rows


def test_section_headings_and_numbering_rows_are_skipped() -> None:
    rows = [["(1)", "(2)", "(3)", "(4)", "(5)", "(6)"],
            ["I", "LĨNH VỰC MÔI TRƯỜNG", "", "", "", ""],
            ["1.", "Việc một", "Phòng A", "Sở B", "Họp", "Quý I/2024"],
            ["II. LĨNH VỰC ĐẤT ĐAI", "", "", "", "", ""],
            ["2", "Việc hai", "Phòng C", "", "", "Năm 2024"]]
    document = read_plan(plan_files.build_csv(rows), "p.csv")
    assert [(r.number, r.title) for r in document.rows] == [(1, "Việc một"), (2, "Việc hai")]


def test_two_line_header_with_a_grouped_column() -> None:
    headers = ("STT", "Nội dung công việc", "Cơ quan thực hiện", "", "Hình thức thực hiện", "Thời gian thực hiện")
    rows = [["", "", "Chủ trì", "Phối hợp", "", ""], ["1", "Việc", "Phòng A", "Sở B; Sở C", "Họp", "Năm 2024"]]
    (task,) = read_plan(plan_files.build_csv(rows, headers=headers), "p.csv").rows
    assert (task.lead_unit, task.partner_units) == ("Phòng A", "Sở B; Sở C")


# --------------------------------------------------------------------------- docx merged cells and layout tables


def _merged_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("KẾ HOẠCH")
    document.add_paragraph("Truyền thông môi trường năm 2025")
    table = document.add_table(rows=5, cols=6)
    for cell, text in zip(table.rows[0].cells, plan_files.HEADERS_VI):
        cell.text = text
    data = [["1", "Việc một", "Phòng Quản lý môi trường", "Sở A\nSở B", "Họp", "Quý I/2025"],
            ["2", "Việc hai", "", "Sở C", "Pano", "Quý II/2025"],
            ["3", "Việc ba", "Phòng Đất đai", "Sở D", "Hội nghị", "Năm 2025"],
            ["", "phần tiếp", "", "Sở E", "và báo", ""]]
    for r, cells in enumerate(data, start=1):
        for c, text in enumerate(cells):
            if text:
                table.cell(r, c).text = text
    table.cell(1, 2).merge(table.cell(2, 2))  # one lead unit for tasks 1 and 2
    table.cell(3, 0).merge(table.cell(4, 0))  # task 3 spans two rows
    table.cell(3, 5).merge(table.cell(4, 5))
    table.cell(3, 2).merge(table.cell(4, 2))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_vertical_merges() -> None:
    document = read_plan(_merged_docx(), "merged.docx")
    assert [r.number for r in document.rows] == [1, 2, 3]
    one, two, three = document.rows
    assert one.lead_unit == two.lead_unit == "Phòng Quản lý môi trường"
    assert split_units(one.partner_units) == ["Sở A", "Sở B"]
    assert three.title == "Việc ba phần tiếp"
    assert three.lead_unit == "Phòng Đất đai"  # not repeated by the merge
    assert three.period_text == "Năm 2025"
    assert three.form_text == "Hội nghị và báo"
    assert document.meta.title == "Truyền thông môi trường năm 2025"
    assert document.meta.year == 2025


def test_docx_horizontal_merge_is_given_once_and_layout_table_feeds_meta() -> None:
    document = docx.Document()
    layout = document.add_table(rows=2, cols=2)
    layout.cell(0, 0).text = "SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG\nSố: 12 / KH-STNMT"
    layout.cell(0, 1).text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nVũng Tàu, ngày 3 tháng 2 năm 2025"
    document.add_paragraph("Sở Tài nguyên và Môi trường xây dựng kế hoạch như sau:")
    table = document.add_table(rows=3, cols=6)
    for cell, text in zip(table.rows[0].cells, plan_files.HEADERS_VI):
        cell.text = text
    for c, text in enumerate(["1", "Việc", "Phòng A", "Sở B", "Họp", "Năm 2025"]):
        table.cell(1, c).text = text
    merged = table.cell(2, 0).merge(table.cell(2, 5))
    merged.text = "Ghi chú: các đơn vị chủ động"
    out = io.BytesIO()
    document.save(out)
    plan = read_plan(out.getvalue(), "layout.docx")
    assert [r.title for r in plan.rows] == ["Việc"]
    assert plan.meta.number == "12/KH-STNMT"
    assert plan.meta.issued_on == date(2025, 2, 3)
    assert plan.meta.place == "Vũng Tàu"
    assert plan.meta.issuing_body == "Sở Tài nguyên và Môi trường"


# --------------------------------------------------------------------------- errors


def test_corrupt_docx() -> None:
    assert error_code(b"PK\x03\x04 not a document", "plan.docx") == "plan_corrupt"


def test_corrupt_xlsx() -> None:
    assert error_code(b"PK\x03\x04 not a workbook", "plan.xlsx") == "plan_corrupt"
    assert error_code(plan_files.build_docx([["1", "a", "b", "c", "d", "e"]]), "docx-named.xlsx") == "plan_corrupt"


def test_docx_that_is_a_zip_of_something_else() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert error_code(out.getvalue(), "plan.docx") == "plan_corrupt"


def test_docx_with_a_doctype_is_rejected() -> None:
    data = plan_files.build_docx([["1", "a", "b", "c", "d", "e"]])
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "word/document.xml":
                body = body.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY a "aaaa">]>', 1)
            archive.writestr(info, body)
    assert error_code(out.getvalue(), "plan.docx") == "plan_corrupt"


def test_legacy_binary_office_file() -> None:
    assert error_code(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "plan.docx") == "plan_unsupported_format"


@pytest.mark.parametrize("filename", ["plan.pdf", "plan.doc", "plan.xls", "plan", "plan.", "plan.docx.exe"])
def test_unsupported_formats(filename: str) -> None:
    assert error_code(b"%PDF-1.7 whatever", filename) == "plan_unsupported_format"


def test_txt_without_table() -> None:
    assert error_code("KẾ HOẠCH\nKhông có bảng\nSTT Nội dung\n".encode(), "plan.txt") == "plan_no_table"


def test_empty_files() -> None:
    assert error_code(b"", "plan.txt") == "plan_no_table"
    assert error_code(b"", "plan.csv") == "plan_no_table"
    assert error_code(b"", "plan.docx") == "plan_corrupt"


def test_missing_lead_unit_column_is_named() -> None:
    headers = ("STT", "Nội dung công việc", "Cơ quan phối hợp", "Hình thức thực hiện", "Thời gian thực hiện")
    data = plan_files.build_docx([["1", "Việc", "Sở A", "Họp", "Năm 2024"]], headers=headers)
    with pytest.raises(PlanReadError) as info:
        read_plan(data, "plan.docx")
    assert info.value.code == "plan_missing_columns"
    assert "Cơ quan chủ trì" in str(info.value)
    assert info.value.params["columns"] == "Cơ quan chủ trì"


def test_header_without_rows() -> None:
    assert error_code(plan_files.build_xlsx([], ["KẾ HOẠCH"]), "plan.xlsx") == "plan_no_rows"
    assert error_code(plan_files.build_txt([]), "plan.txt") == "plan_no_rows"


def test_bad_row_number_names_the_value() -> None:
    rows = [["1", "Việc", "Phòng A", "", "", "Năm 2024"], ["2a", "Việc khác", "Phòng B", "", "", "Năm 2024"]]
    with pytest.raises(PlanReadError) as info:
        read_plan(plan_files.build_csv(rows), "plan.csv")
    assert info.value.code == "plan_bad_row_number"
    assert "2a" in str(info.value)


def test_oversize_file_is_rejected_before_parsing() -> None:
    assert error_code(b"x" * 101, "plan.txt", max_bytes=100) == "plan_too_large"
    assert error_code(b"PK" + b"\x00" * 200, "plan.docx", max_bytes=100) == "plan_too_large"


def test_zip_bomb_docx() -> None:
    bomb = plan_files.build_zip_bomb(3 * 1024 * 1024)
    assert len(bomb) < 100_000
    assert error_code(bomb, "plan.docx", max_bytes=100_000) == "plan_too_large"
    assert error_code(bomb, "plan.xlsx", max_bytes=100_000) == "plan_too_large"


def test_too_many_spreadsheet_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_reader, "MAX_ROWS", 5)
    rows = [[str(n), "Việc", "Phòng A", "", "", "Năm 2024"] for n in range(1, 10)]
    assert error_code(plan_files.build_xlsx(rows), "plan.xlsx") == "plan_too_large"
    assert error_code(plan_files.build_csv(rows), "plan.csv") == "plan_too_large"


def test_txt_with_nul_bytes_or_bad_encoding() -> None:
    assert error_code(b"STT\tN\x00i dung\n", "plan.txt") == "plan_corrupt"
    assert error_code(b"K\xea ho\xe1ch\tSTT", "plan.txt") == "plan_corrupt"
    assert error_code(b"a,b\n\x00,1\n", "plan.csv") == "plan_corrupt"


# --------------------------------------------------------------------------- nothing but PlanReadError escapes

_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parses_or_plan_error(data: bytes, filename: str) -> None:
    try:
        document = read_plan(data, filename)
    except PlanReadError as exc:
        assert exc.code.startswith("plan_")
    else:
        assert document.rows and all(isinstance(r.number, int) for r in document.rows)


@_FUZZ
@given(data=st.binary(max_size=2048), ext=st.sampled_from(["txt", "docx", "xlsx", "csv", "tsv", "pdf"]))
def test_arbitrary_bytes_never_escape(data: bytes, ext: str) -> None:
    _parses_or_plan_error(data, f"fuzz.{ext}")


@_FUZZ
@given(prefix=st.sampled_from([b"PK\x03\x04", b"\xef\xbb\xbf", b"\xff\xfe", b"STT\tTask\tLead unit\tPeriod\n"]),
       data=st.binary(max_size=1024), ext=st.sampled_from(["txt", "docx", "xlsx", "csv", "tsv"]))
def test_arbitrary_bytes_with_plausible_prefixes(prefix: bytes, data: bytes, ext: str) -> None:
    _parses_or_plan_error(prefix + data, f"fuzz.{ext}")


_SMALL_DOCX = plan_files.build_docx([["1", "Việc", "Phòng A", "Sở B", "Họp", "Năm 2024"]], ["KẾ HOẠCH", "Tên"])
_SMALL_XLSX = plan_files.build_xlsx([["1", "Việc", "Phòng A", "Sở B", "Họp", "Năm 2024"]], ["KẾ HOẠCH", "Tên"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from(["docx", "xlsx"]),
       edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8))
def test_damaged_office_files_never_escape(which: str, edits: list[tuple[float, int]]) -> None:
    data = bytearray(_SMALL_DOCX if which == "docx" else _SMALL_XLSX)
    for where, value in edits:
        data[int(where * len(data))] = value
    _parses_or_plan_error(bytes(data), f"damaged.{which}")


_cell = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12)


@_FUZZ
@given(rows=st.lists(st.lists(st.one_of(_cell, st.sampled_from(["", "1", "2", "STT", "Task", "<b>x</b>"])),
                              max_size=7), max_size=8),
       fmt=st.sampled_from(["txt", "csv", "tsv"]))
def test_arbitrary_tables_never_escape(rows: list[list[str]], fmt: str) -> None:
    builder = {"txt": plan_files.build_txt, "csv": plan_files.build_csv, "tsv": plan_files.build_tsv}[fmt]
    _parses_or_plan_error(builder(rows, ["Số: 1/KH", "KẾ HOẠCH"]), f"table.{fmt}")
