"""Auth pages."""
