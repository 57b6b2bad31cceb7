"""Plans pages."""
