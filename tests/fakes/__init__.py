"""Fakes for peers that cannot run here (named as such wherever they are used)."""
