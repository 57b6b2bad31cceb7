"""Boards (screens): registering them, their secrets, and what they will play."""
