"""Gzip request bodies: inflated under a limit checked while decompressing."""

from __future__ import annotations

import gzip
import tracemalloc
from collections.abc import AsyncIterator

import pytest

from kith.api.inflate import inflated
from kith.domain.errors import InvalidPayload, PayloadTooLarge


async def chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_a_gzip_body_is_inflated_whole_across_chunk_boundaries() -> None:
    body = b"".join(b"%d," % n for n in range(100_000))
    assert await inflated(chunks(gzip.compress(body), 7), 1 << 20) == body


async def test_concatenated_members_are_inflated_in_turn() -> None:
    assert await inflated(chunks(gzip.compress(b"ab") + gzip.compress(b"cd")), 100) == b"abcd"


async def test_exactly_the_limit_passes_and_one_byte_more_is_too_large() -> None:
    assert len(await inflated(chunks(gzip.compress(b"x" * 1000)), 1000)) == 1000
    with pytest.raises(PayloadTooLarge):
        await inflated(chunks(gzip.compress(b"x" * 1001)), 1000)


async def test_a_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(b"\0" * (256 << 20), compresslevel=9)  # 256 MiB in ~250 kB
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLarge):
            await inflated(chunks(bomb), 4 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 << 20  # the 4 MiB limit and its parts, not the 256 MiB


async def test_a_compressed_body_over_the_limit_is_too_large() -> None:
    with pytest.raises(PayloadTooLarge):
        await inflated(chunks(b"\x1f\x8b" + b"\0" * 2000), 1000)


@pytest.mark.parametrize(
    "body",
    [b"not gzip at all", gzip.compress(b"complete", mtime=0)[:-6]],
    ids=["not gzip", "truncated"],
)
async def test_garbage_or_truncated_gzip_is_invalid(body: bytes) -> None:
    with pytest.raises(InvalidPayload):
        await inflated(chunks(body), 1000)
