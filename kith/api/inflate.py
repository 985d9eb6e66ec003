"""Request bodies sent with `Content-Encoding: gzip`, inflated under a limit.

The limit applies to what decompression produces, checked while decompressing:
zlib is asked for at most one byte more than the limit allows, so a gzip bomb
(a few kilobytes that inflate to gigabytes) costs at most the limit in memory
before it is refused with a 413. The compressed stream is bounded by the same
limit. Concatenated gzip members (RFC 1952 allows them) are inflated in turn."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from kith.domain.errors import InvalidPayload, PayloadTooLarge

_GZIP = 16 + zlib.MAX_WBITS


async def inflated(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """The decompressed body; 413 past `limit` bytes (either side), 400 if not gzip."""
    inflater = zlib.decompressobj(_GZIP)
    parts: list[bytes] = []
    size = received = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > limit:
                raise PayloadTooLarge(f"Body larger than {limit} bytes")
            pending = chunk
            while pending:
                part = inflater.decompress(pending, limit + 1 - size)
                size += len(part)
                if size > limit:
                    raise PayloadTooLarge(f"Body larger than {limit} bytes once decompressed")
                parts.append(part)
                if inflater.eof:
                    pending = inflater.unused_data
                    if pending:
                        inflater = zlib.decompressobj(_GZIP)
                else:
                    pending = inflater.unconsumed_tail
    except zlib.error as exc:
        raise InvalidPayload.at(["body"], f"Malformed gzip body: {exc}", "gzip_invalid") from None
    if received and not inflater.eof:
        raise InvalidPayload.at(["body"], "Truncated gzip body", "gzip_invalid")
    return b"".join(parts)
