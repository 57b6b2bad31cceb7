"""Campaigns pages."""
