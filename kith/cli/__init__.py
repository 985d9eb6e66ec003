"""`kith serve | migrate | keys | export | import | segments`: the command line, one
Settings per command. Each module registers its commands on the one `app`."""

from kith.cli import data, keys, segments, serve
from kith.cli.common import app

__all__ = ["app", "data", "keys", "segments", "serve"]
