"""Metrics: the registry every part of Kith adds its metrics to (see `registry`)."""

from kith.metrics.registry import CONTENT_TYPE, MetricsRegistry

__all__ = ["CONTENT_TYPE", "MetricsRegistry"]
