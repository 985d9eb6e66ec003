"""The committed-event feed: named consumers that see every committed event once
(at least once across crashes), in commit order, after the commit."""

from kith.feed.consumer import FeedConsumer
from kith.feed.runner import ConsumerStatus, FeedRunner

__all__ = ["ConsumerStatus", "FeedConsumer", "FeedRunner"]
