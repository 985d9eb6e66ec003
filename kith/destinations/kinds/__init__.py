"""Kith's built-in destination kinds, one module each, registered through the
`kith.destinations` entry points in pyproject.toml exactly as a plugin's would be."""
