"""Kith's built-in node types, one module per family. Each module's `NODES` is
registered through the `kith.nodes` entry points in pyproject.toml, exactly as a
plugin package registers its own."""
