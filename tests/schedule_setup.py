"""Shared setup for schedule tests: approved media in a published playlist, boards, rules."""
from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask.testing import FlaskClient

import media_files
from cms.services.derivatives import work_until_idle


class Clock:
    """The scheduler's clock, standing where the test puts it (`clock.at = ...`)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def published_playlist(client: FlaskClient, app: Flask, editor: dict[str, str], approver: dict[str, str],
                       campaign_id: int = 4, seed: int = 0, duration: float = 15) -> int:
    """A published playlist of one approved poster (a different picture per `seed`)."""
    asset = client.post(f"/api/v1/media?campaign_id={campaign_id}&filename=p{seed}.png",
                        data=media_files.png_bytes(colour=(20 + seed * 7 % 200, 120, 60)),
                        headers=editor | {"Content-Type": "application/octet-stream"}).get_json()["id"]
    with app.app_context():
        work_until_idle(app.config["PANOLED"])
    client.post(f"/api/v1/media/{asset}/transitions", headers=editor, json={"to": "pending"})
    client.post(f"/api/v1/media/{asset}/transitions", headers=approver, json={"to": "approved"})
    playlist = client.post("/api/v1/playlists", headers=editor, json={"campaign_id": campaign_id, "name": f"P{seed}"}).get_json()["id"]
    client.post(f"/api/v1/playlists/{playlist}/items", headers=editor, json={"asset_id": asset, "duration": duration})
    assert client.post(f"/api/v1/playlists/{playlist}/publish", headers=editor).status_code == 200
    return playlist


def simulator_board(client: FlaskClient, operator: dict[str, str], code: str, url: str | None = None,
                    group: str = "Vũng Tàu", hours: str = "00:00-24:00") -> int:
    body = {"name": f"Bảng {code}", "code": code, "width": 960, "height": 320, "adapter": "simulator",
            "group": group, "operating_hours": hours}
    if url:
        body["adapter_options"] = {"url": url}
    response = client.post("/api/v1/screens", headers=operator, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]
