"""Segments and computed traits: kept exactly true live, in batch, and over time."""
