from pathlib import Path
from typing import Any

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet  # type: ignore[import-untyped]

from kith.tracking.geo import GeoLocator, geo_from_context, geo_from_record

LONDON_RECORD: dict[str, Any] = {
    "city": {"geoname_id": 2643743, "names": {"en": "London", "de": "London"}},
    "continent": {"code": "EU", "names": {"en": "Europe"}},
    "country": {"iso_code": "GB", "names": {"en": "United Kingdom", "fr": "Royaume-Uni"}},
    "location": {"latitude": 51.5142, "longitude": -0.0931, "time_zone": "Europe/London"},
    "postal": {"code": "EC2V"},
    "subdivisions": [{"iso_code": "ENG", "names": {"en": "England"}}],
}
LONDON_GEO = {
    "country": {"name": "United Kingdom", "code": "GB"},
    "city": "London",
    "county": "England",
    "postal": "EC2V",
    "latitude": 51.5142,
    "longitude": -0.0931,
}


def write_city_db(path: Path) -> Path:
    """A tiny GeoLite2-City-like database: IPv6 tree with IPv4 mapped in, as MaxMind ships."""
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="GeoLite2-City",
        languages=["en"],
        description="Kith test database",
    )
    writer.insert_network(IPSet(["81.2.69.0/24"]), LONDON_RECORD)
    writer.insert_network(IPSet(["2a02:d140::/29"]), {"country": {"iso_code": "DE"}})
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def city_db(tmp_path: Path) -> Path:
    return write_city_db(tmp_path / "city.mmdb")


def test_lookup_finds_the_record(city_db: Path) -> None:
    locator = GeoLocator(city_db)
    try:
        assert locator.lookup("81.2.69.142") == LONDON_GEO
        assert locator.lookup("2a02:d140::1") == {"country": {"code": "DE"}}
    finally:
        locator.close()


@pytest.mark.parametrize(
    "ip",
    [None, "", "10.0.0.1", "127.0.0.1", "192.168.1.1", "::1", "fe80::1", "nonsense", "8.8.8.8"],
)
def test_lookup_without_a_public_known_ip_is_empty(city_db: Path, ip: str | None) -> None:
    locator = GeoLocator(city_db)
    try:
        assert locator.lookup(ip) == {}
    finally:
        locator.close()


def test_no_database_is_empty() -> None:
    locator = GeoLocator(None)
    assert locator.lookup("81.2.69.142") == {}
    locator.close()


def test_closed_locator_is_empty(city_db: Path) -> None:
    locator = GeoLocator(city_db)
    locator.close()
    locator.close()
    assert locator.lookup("81.2.69.142") == {}


def test_ipv4_only_database_and_ipv6_lookup(tmp_path: Path) -> None:
    writer = MMDBWriter(ip_version=4, database_type="GeoLite2-City")
    writer.insert_network(IPSet(["81.2.69.0/24"]), LONDON_RECORD)
    writer.to_db_file(str(tmp_path / "v4.mmdb"))
    locator = GeoLocator(tmp_path / "v4.mmdb")
    try:
        assert locator.lookup("81.2.69.1")["city"] == "London"
        assert locator.lookup("2a00:1450:4001::1") == {}
    finally:
        locator.close()


def test_missing_database_file_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        GeoLocator(tmp_path / "nope.mmdb")


def test_record_with_gaps_and_garbage() -> None:
    assert geo_from_record(None) == {}
    assert geo_from_record({"registered_country": {"iso_code": "PL"}}) == {
        "country": {"code": "PL"}
    }
    record = {"city": {"names": {"de": "Wien"}}, "subdivisions": [], "location": [1, 2]}
    assert geo_from_record(record) == {}


def test_geo_from_context() -> None:
    assert geo_from_context(
        {
            "country": {"name": "Poland", "code": "pl"},
            "city": "Warsaw",
            "latitude": 52.23,
            "longitude": 21,
            "county": "Mazowieckie",
            "postal": "00-001",
            "extra": "dropped",
        }
    ) == {
        "country": {"name": "Poland", "code": "PL"},
        "city": "Warsaw",
        "county": "Mazowieckie",
        "postal": "00-001",
        "latitude": 52.23,
        "longitude": 21.0,
    }
    assert geo_from_context({"country": "de"}) == {"country": {"code": "DE"}}
    assert geo_from_context({"country": "Germany"}) == {"country": {"name": "Germany"}}


@pytest.mark.parametrize(
    "location",
    [
        None,
        "Warsaw",
        [1, 2],
        {},
        {"country": 5, "city": ["x"], "latitude": "52.2", "longitude": True},
        {"latitude": 91.0, "longitude": float("nan"), "city": "  "},
    ],
)
def test_geo_from_context_garbage(location: object) -> None:
    assert geo_from_context(location) == {}
