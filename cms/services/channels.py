"""Which communication channels a plan row uses, read from its "Hình thức thực hiện".

The form column of a provincial plan is free Vietnamese prose ("Tuyên truyền ... trên
mạng xã hội, Trang thông tin điện tử ... và trên hệ thống Panoled"), sometimes with
HTML list markup pasted in. `derive_channels` finds the channels it mentions by
keyword, so a campaign can be pre-filled with them; a person still confirms them.
"""
from __future__ import annotations

import html
import re
import unicodedata
from typing import Final

__all__ = ["CHANNELS", "derive_channels"]

# Words shown for them are in cms.labels, in the user's language.
CHANNELS: tuple[str, ...] = (
    "panoled", "website", "press", "social", "videoclip",
    "poster", "banner", "conference", "training", "event",
)

# Whole words only: Vietnamese syllables are space-separated, so a keyword glued to
# other letters ("đàii", "báochí") is some other word. Python's \w covers the
# precomposed Vietnamese letters, which is why the text is NFC-normalised first.
def _word(pattern: str) -> str:
    return rf"(?<!\w){pattern}(?!\w)"


def _stem(pattern: str) -> str:
    # English loanwords also appear inflected or compounded ("banners", "videoclip").
    return rf"(?<!\w){pattern}"


# "báo" alone is a newspaper, but several common compounds are not press at all:
# báo cáo (report), báo động (alarm), thông báo (notice), cảnh báo (warning),
# dự báo (forecast), khai báo (declaration). Look-behinds must be fixed-width, hence
# one per word; this relies on whitespace having been collapsed to single spaces.
_NEWSPAPER = r"(?<!thông )(?<!cảnh )(?<!dự )(?<!khai )" + _word("báo") + r"(?! cáo| động)"
# "đài thọ" means "to pay for", which appears in budget sentences next to real media.
_BROADCASTER = _word("đài") + r"(?! thọ)"

_KEYWORDS: Final[dict[str, tuple[str, ...]]] = {
    "panoled": (_stem(r"pano ?-? ?led"),),
    "website": (_word("trang thông tin điện tử"), _stem("website"), _word("cổng thông tin")),
    "press": (_NEWSPAPER, _BROADCASTER, _word("tạp chí"), _word("phát thanh"),
              _word("truyền hình"), _word("thông tin đại chúng"), _word("đưa tin")),
    "social": (_word("mạng xã hội"), _stem("facebook"), _stem("zalo")),
    # "video" alone also covers "videoclip" and "video clip".
    "videoclip": (_stem("video"),),
    "poster": (_stem("poster"), _word("áp phích")),
    # A "pano" is a printed roadside board, unless it is the LED kind.
    "banner": (_stem("banner"), _word("băng ?-?rôn"), _word("pano") + r"(?! ?-? ?led)"),
    "conference": (_word("hội nghị"), _word("hội thảo")),
    "training": (_word("tập huấn"), _word("đào tạo")),
    "event": (_word("sự kiện"), _word("ngày hội"), _word("ra quân"), _word("mít ?-?tinh"),
              _word("phong trào")),
}

_PATTERNS: Final[dict[str, re.Pattern[str]]] = {
    channel: re.compile("|".join(f"(?:{keyword})" for keyword in _KEYWORDS[channel]))
    for channel in CHANNELS
}

_TAG = re.compile(r"<[^>]*>")


def derive_channels(form_text: str) -> list[str]:
    """Channels mentioned in a "Hình thức thực hiện" text, in `CHANNELS` order."""
    text = _plain_text(form_text)
    return [channel for channel in CHANNELS if _PATTERNS[channel].search(text)]


def _plain_text(form_text: str) -> str:
    # Tags become spaces so "<li>báo</li><li>đài" does not glue words together;
    # entities are decoded only afterwards so "&lt;b&gt;" text is not taken for a tag.
    without_tags = html.unescape(_TAG.sub(" ", form_text))
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", without_tags).casefold())
    return " ".join(folded.split())
