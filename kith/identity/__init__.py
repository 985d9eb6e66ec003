"""Merge keys, the identity index and merging profiles that turn out to be one person."""
