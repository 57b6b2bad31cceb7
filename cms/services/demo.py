"""Demo content for `panoled demo`: six simulated boards around the province, text
banners for four campaigns of the plan, playlists and rules running from today.

The plan is the real 2024 plan, so its campaigns' periods are in the past; the demo
rules name their own dates (today and the next 60 days) so the boards have
something on air. Everything is done in the audit log's name "demo", and only on
a database without boards, so a demo that was changed by hand is left alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import func, select

from cms.config import Config
from cms.extensions import db
from cms.models import Campaign, Screen
from cms.services.audit import Actor
from cms.services.derivatives import work_until_idle
from cms.services.media import add_banner, transition
from cms.services.playlists import add_item, create_playlist, publish
from cms.services.rules import RuleInput, create_rule
from cms.services.screens import ScreenInput, create_screen
from media.types import BannerSpec

DEMO = Actor(label="demo", role="admin")


@dataclass(frozen=True)
class DemoBoard:
    code: str
    name: str
    group: str
    width: int
    height: int
    pitch: float
    distance: float
    address: str
    latitude: float
    longitude: float


BOARDS = (
    DemoBoard("VT-BAISAU", "Bảng LED Bãi Sau", "TP Vũng Tàu", 1920, 1080, 6.0, 40.0,
              "Đường Thùy Vân, phường Thắng Tam", 10.3448, 107.0950),
    DemoBoard("VT-GIENGNUOC", "Bảng LED ngã tư Giếng Nước", "TP Vũng Tàu", 960, 320, 10.0, 60.0,
              "Ngã tư Giếng Nước, phường 10", 10.3797, 107.1167),
    DemoBoard("BR-CHO", "Bảng LED chợ Bà Rịa", "TP Bà Rịa", 768, 384, 10.0, 50.0,
              "Đường 27/4, phường Phước Hiệp", 10.4963, 107.1683),
    DemoBoard("BR-UBND", "Bảng LED trụ sở UBND TP Bà Rịa", "TP Bà Rịa", 1440, 480, 8.0, 45.0,
              "Đường Trần Hưng Đạo, phường Phước Trung", 10.5010, 107.1810),
    DemoBoard("PM-CAIMEP", "Bảng LED cảng Cái Mép", "TX Phú Mỹ", 960, 320, 10.0, 80.0,
              "Khu cảng Cái Mép, phường Tân Phước", 10.5330, 107.0280),
    DemoBoard("PM-QL51", "Bảng LED Quốc lộ 51 Phú Mỹ", "TX Phú Mỹ", 1920, 640, 10.0, 90.0,
              "Quốc lộ 51, phường Phú Mỹ", 10.5870, 107.0520),
)

BANNERS = (
    # (task number, title, body, background)
    (4, "Tháng hành động vì môi trường", "Chung tay chống ô nhiễm nhựa", "#0F6B4A"),
    (5, "Làm cho thế giới sạch hơn", "Phân loại rác tại nguồn", "#1B4F8A"),
    (6, "Ứng phó biến đổi khí hậu", "Tiết kiệm điện, nước mỗi ngày", "#7A3E00"),
    (16, "Bảo vệ tài nguyên và môi trường", "Bà Rịa – Vũng Tàu xanh, sạch, đẹp", "#24543B"),
)


def seed_demo(config: Config, today: date) -> bool:
    """Boards, banners, playlists and rules, once; returns whether anything was made."""
    if db.session.scalar(select(func.count()).select_from(Screen)):
        return False
    for board in BOARDS:
        create_screen(ScreenInput(
            name=board.name, code=board.code, width=board.width, height=board.height, adapter_kind="simulator",
            address=board.address, latitude=board.latitude, longitude=board.longitude, group_name=board.group,
            pixel_pitch_mm=board.pitch, viewing_distance_m=board.distance, opens_at=time(5, 30), closes_at=time(22, 0)),
            DEMO)
    playlists = {}
    for number, title, body, background in BANNERS:
        campaign = db.session.scalar(select(Campaign).where(Campaign.number == number).order_by(Campaign.id).limit(1))
        if campaign is None:
            continue
        asset = add_banner(BannerSpec(title=title, body=body, background_color=background), campaign.id, DEMO, config).asset
        playlist = create_playlist(campaign.id, title, DEMO)
        add_item(playlist, asset.id, DEMO, duration=10)
        playlists[number] = (playlist, asset)
    db.session.commit()
    work_until_idle(config)  # the renditions must exist before anything is approved
    for playlist, asset in playlists.values():
        db.session.refresh(asset)
        transition(asset, "pending", DEMO)
        transition(asset, "approved", DEMO)
        publish(playlist, DEMO)
    screens = {s.code: s for s in db.session.scalars(select(Screen))}
    until = today + timedelta(days=60)
    groups = sorted({b.group for b in BOARDS})

    def rule(number: int, **values: object) -> None:
        if number in playlists:
            create_rule(RuleInput(playlist_id=playlists[number][0].id, date_from=today, date_to=until, **values), DEMO)  # type: ignore[arg-type]

    rule(16, groups=tuple(groups), note="Cả ngày, lấp thời gian còn trống")
    rule(4, groups=tuple(groups), plays_per_hour=12, priority=10, windows=(("06:00", "21:00"),), note="12 lần mỗi giờ")
    rule(5, board_ids=(screens["VT-BAISAU"].id, screens["BR-CHO"].id), share_of_voice=0.25, priority=5,
         windows=(("17:00", "21:30"),), weekdays=(5, 6), note="Cuối tuần, giờ tan tầm")
    rule(6, groups=("TX Phú Mỹ",), plays_per_hour=6, priority=8, note="Khu công nghiệp")
    if 16 in playlists:
        for screen in screens.values():
            screen.fallback_playlist_id = playlists[16][0].id
    db.session.commit()
    return True
