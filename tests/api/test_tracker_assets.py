"""GET /tracker/*.min.js: the browser tracker served from the installed package."""

from __future__ import annotations

import gzip

import pytest
from fastapi.testclient import TestClient

from kith.api.tracker_assets import accepts_gzip, matches_etag, read_tracker_file

FILES = ["loader.min.js", "liliput.min.js"]


@pytest.mark.parametrize("name", FILES)
def test_served_with_cache_headers_and_cors(client: TestClient, name: str) -> None:
    response = client.get(f"/tracker/{name}", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.content == read_tracker_file(name)
    assert response.headers["content-type"].startswith("application/javascript")
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.headers["access-control-allow-origin"] == "*"
    assert "accept-encoding" in response.headers["vary"].lower()
    assert "content-encoding" not in response.headers
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')  # strong


@pytest.mark.parametrize("name", FILES)
def test_gzip_when_accepted(client: TestClient, name: str) -> None:
    plain = client.get(f"/tracker/{name}", headers={"Accept-Encoding": "identity"})
    packed = client.get(f"/tracker/{name}", headers={"Accept-Encoding": "br, gzip;q=0.8"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == plain.content  # the client decompresses
    assert int(packed.headers["content-length"]) < len(plain.content)
    assert packed.headers["etag"] != plain.headers["etag"]  # different bytes, different tag
    with client.stream("GET", f"/tracker/{name}", headers={"Accept-Encoding": "gzip"}) as raw:
        body = b"".join(raw.iter_raw())
    assert gzip.decompress(body) == read_tracker_file(name)
    assert len(body) == int(packed.headers["content-length"])


def test_conditional_get_answers_304(client: TestClient) -> None:
    first = client.get("/tracker/liliput.min.js", headers={"Accept-Encoding": "gzip"})
    etag = first.headers["etag"]
    again = client.get(
        "/tracker/liliput.min.js", headers={"Accept-Encoding": "gzip", "If-None-Match": etag}
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "public, max-age=3600"
    weak = client.get(
        "/tracker/liliput.min.js", headers={"Accept-Encoding": "gzip", "If-None-Match": f"W/{etag}"}
    )
    assert weak.status_code == 304
    # the gzip tag does not validate the plain representation
    other = client.get(
        "/tracker/liliput.min.js", headers={"Accept-Encoding": "identity", "If-None-Match": etag}
    )
    assert other.status_code == 200 and other.content


def test_head_has_the_headers_and_no_body(client: TestClient) -> None:
    got = client.get("/tracker/loader.min.js", headers={"Accept-Encoding": "identity"})
    head = client.head("/tracker/loader.min.js", headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == got.headers["etag"]
    assert head.headers["content-length"] == str(len(got.content))


def test_accept_encoding_parsing() -> None:
    assert accepts_gzip("gzip, deflate, br")
    assert accepts_gzip("br;q=1.0, gzip;q=0.5")
    assert accepts_gzip("*")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("identity")
    assert not accepts_gzip("")
    assert not accepts_gzip("gzip;q=zero")


def test_etag_matching() -> None:
    assert matches_etag('"a", "b"', '"b"')
    assert matches_etag("*", '"b"')
    assert matches_etag('W/"b"', '"b"')
    assert not matches_etag('"a"', '"b"')
    assert not matches_etag("", '"b"')
