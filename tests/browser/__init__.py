"""Kith's browser tracker in real Chromium against a real `kith serve`."""
