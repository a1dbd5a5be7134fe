"""End-to-end tests in Debian's Chromium (a package, so its conftest never shadows the root one)."""
