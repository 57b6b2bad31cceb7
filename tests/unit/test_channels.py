"""Which channels a plan row's "Hình thức thực hiện" text pre-selects."""
from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cms.services.channels import CHANNELS, derive_channels

PLAN = Path(__file__).parents[2] / "cms/demo/ke-hoach-81-KH-STNMT-2024.txt"
FORM_COLUMN = 4


def plan_forms() -> dict[int, str]:
    """The form column of each numbered row, with rows continued across page breaks."""
    rows: dict[int, list[str]] = {}
    current: int | None = None
    for line in PLAN.read_text(encoding="utf-8").splitlines():
        cells = line.split("\t")
        if len(cells) != 6:
            continue
        if cells[0].strip().isdigit():
            current = int(cells[0])
            rows[current] = cells
        elif cells[0] == "" and current is not None:
            rows[current] = [f"{old} {new}" for old, new in zip(rows[current], cells)]
    return {row: " ".join(cells[FORM_COLUMN].split()) for row, cells in rows.items()}


PLAN_CHANNELS: dict[int, list[str]] = {
    1: ["panoled", "website", "social"],
    2: ["panoled", "website", "banner"],
    3: ["panoled", "press"],
    4: ["panoled", "press", "videoclip", "poster", "banner"],
    5: ["event"],
    6: ["press", "conference"],
    7: ["panoled", "press", "videoclip", "poster", "banner", "conference"],
    8: ["panoled", "press", "conference"],
    9: ["panoled", "press", "conference"],
    10: ["panoled", "website", "social", "videoclip", "poster", "banner", "event"],
    11: ["training"],
    12: ["videoclip", "poster", "banner", "training"],
    13: ["panoled", "press", "videoclip", "poster", "banner", "conference"],
    14: ["conference"],
    15: ["panoled", "videoclip", "poster", "banner", "conference"],
    16: ["press", "videoclip"],
}


def test_every_channel_has_a_label_to_show() -> None:
    from cms.labels import CHANNEL_LABELS

    assert set(CHANNEL_LABELS) == set(CHANNELS)


def test_demo_plan_has_sixteen_rows_with_a_form() -> None:
    forms = plan_forms()
    assert sorted(forms) == list(range(1, 17))
    assert all(forms.values())


@pytest.mark.parametrize("row", sorted(PLAN_CHANNELS))
def test_each_plan_row_preselects_the_channels_it_describes(row: int) -> None:
    assert derive_channels(plan_forms()[row]) == PLAN_CHANNELS[row]


def test_first_plan_row_goes_to_panoled_website_and_social_media() -> None:
    assert derive_channels(plan_forms()[1]) == ["panoled", "website", "social"]


def test_a_report_is_not_press() -> None:
    assert derive_channels("báo cáo kết quả") == []
    assert derive_channels("BÁO CÁO kết quả thực hiện") == []


@pytest.mark.parametrize("text", ["đăng thông báo", "cảnh báo ô nhiễm", "dự báo khí tượng", "khai báo", "báo động"])
def test_notices_and_warnings_are_not_press(text: str) -> None:
    assert derive_channels(text) == []


@pytest.mark.parametrize("text", ["trên báo", "Báo Bà Rịa - Vũng Tàu", "báo, đài", "Đài PT-TH", "tạp chí",
                                  "phát thanh", "truyền hình", "phương tiện thông tin đại chúng", "đưa tin"])
def test_newspapers_and_broadcasters_are_press(text: str) -> None:
    assert derive_channels(text) == ["press"]


def test_paying_for_something_is_not_a_broadcaster() -> None:
    assert derive_channels("kinh phí do ngân sách tỉnh đài thọ") == []


def test_keywords_only_match_whole_words() -> None:
    assert derive_channels("đàii báochí tậphuấn") == []


def test_led_board_is_panoled_but_printed_board_is_banner() -> None:
    assert derive_channels("hệ thống Panoled") == ["panoled"]
    assert derive_channels("pano LED ngoài trời") == ["panoled"]
    assert derive_channels("pano tấm lớn") == ["banner"]
    assert derive_channels("pano, Panoled") == ["panoled", "banner"]


@pytest.mark.parametrize("text", ["videoclip", "video clip", "Video", "VideoClip ngắn"])
def test_any_spelling_of_video_is_videoclip(text: str) -> None:
    assert derive_channels(text) == ["videoclip"]


@pytest.mark.parametrize(
    ("text", "channel"),
    [
        ("Trang thông tin điện tử của Sở", "website"),
        ("website", "website"),
        ("Cổng thông tin điện tử tỉnh", "website"),
        ("mạng xã hội", "social"),
        ("Facebook", "social"),
        ("Zalo OA", "social"),
        ("áp phích", "poster"),
        ("poster", "poster"),
        ("banner", "banner"),
        ("băng rôn", "banner"),
        ("hội thảo", "conference"),
        ("đào tạo", "training"),
        ("mít tinh", "event"),
        ("ra quân", "event"),
        ("phát động phong trào", "event"),
    ],
)
def test_each_keyword_selects_its_channel(text: str, channel: str) -> None:
    assert derive_channels(text) == [channel]


def test_channels_come_in_catalogue_order_without_duplicates() -> None:
    text = "Tổ chức Hội nghị, hội thảo; đưa lên Panoled và Panoled; đăng báo"
    assert derive_channels(text) == ["panoled", "press", "conference"]


def test_html_markup_is_ignored() -> None:
    text = '<ul style="list-style-type: none"><li>Hội nghị</li><li>Đài</li><li>báo</li></ul>'
    assert derive_channels(text) == ["press", "conference"]
    assert derive_channels('<a href="https://zalo.me/video">xem</a>') == []


def test_decomposed_unicode_is_read_like_composed() -> None:
    assert derive_channels(unicodedata.normalize("NFD", "Tập huấn, Mạng xã hội")) == ["social", "training"]


def test_text_without_channels_gives_none() -> None:
    assert derive_channels("") == []
    assert derive_channels("Phối hợp triển khai các hoạt động phân loại rác tại nguồn") == []


EXAMPLES: list[tuple[str, str]] = [
    ("panoled", "Panoled"), ("website", "Trang thông tin điện tử"), ("press", "Báo"),
    ("press", "tạp chí"), ("social", "mạng xã hội"), ("videoclip", "video clip"),
    ("poster", "áp phích"), ("banner", "băng rôn"), ("banner", "pano"),
    ("conference", "Hội nghị"), ("training", "tập huấn"), ("event", "sự kiện"), ("event", "Ngày hội"),
]


@given(
    chosen=st.lists(st.sampled_from(EXAMPLES), min_size=0, max_size=8),
    tag=st.sampled_from(["", "<li>", "</p>", "<br/>"]),
    nfd=st.booleans(),
)
def test_any_mix_of_keywords_gives_exactly_their_channels(
    chosen: list[tuple[str, str]], tag: str, nfd: bool
) -> None:
    text = ", ".join(f"{tag}{keyword}" for _, keyword in chosen)
    text = unicodedata.normalize("NFD", text) if nfd else unicodedata.normalize("NFC", text)
    expected = [channel for channel in CHANNELS if channel in {c for c, _ in chosen}]
    assert derive_channels(text) == expected


@given(st.text())
def test_any_text_gives_known_channels_in_order(text: str) -> None:
    channels = derive_channels(text)
    assert channels == [channel for channel in CHANNELS if channel in channels]
