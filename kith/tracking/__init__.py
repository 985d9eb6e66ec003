"""The collector pipeline."""
