"""The embedded engine: one SQLite file, one writer thread with group commit."""
