"""The web player: the page a kiosk browser opens full screen to play one board's schedule."""
