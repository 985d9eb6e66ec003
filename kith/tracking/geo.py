"""Where a session comes from: `device.geo` of the session document.

Two sources, in the order the enrichment prefers them: a location the client
sent itself (a mobile app knows better than any IP database), and a lookup of
the client IP in a MaxMind-format (GeoIP2 / GeoLite2 City) database the operator
provides. Kith ships no database, so "no database" is a normal, silent state.
Both produce the same flat shape Tracardi sessions use:
`{country: {name, code}, city, county, postal, latitude, longitude}`, with
missing values left out.
"""

from __future__ import annotations

import ipaddress
import math
import os
from typing import Any

import maxminddb
from maxminddb.errors import InvalidDatabaseError


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _coordinate(value: object, limit: float) -> float | None:
    """A finite number within ±limit (bools and numeric strings are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and -limit <= number <= limit else None


def _name(record: object) -> str | None:
    """`record.names.en` of a GeoIP2 record part, if it is there."""
    if not isinstance(record, dict):
        return None
    names = record.get("names")
    return _text(names.get("en")) if isinstance(names, dict) else None


def _put(geo: dict[str, Any], key: str, value: object) -> None:
    if value is not None and value != {}:
        geo[key] = value


def geo_from_record(record: object) -> dict[str, Any]:
    """Flatten a GeoIP2/GeoLite2 City (or Country) record into the session shape."""
    if not isinstance(record, dict):
        return {}
    country = record.get("country") or record.get("registered_country")
    country_geo: dict[str, str] = {}
    if isinstance(country, dict):
        _put(country_geo, "name", _name(country))
        _put(country_geo, "code", _text(country.get("iso_code")))
    subdivisions = record.get("subdivisions")
    postal = record.get("postal")
    location = record.get("location")
    if not isinstance(location, dict):
        location = {}
    geo: dict[str, Any] = {}
    _put(geo, "country", country_geo)
    _put(geo, "city", _name(record.get("city")))
    if isinstance(subdivisions, list) and subdivisions:
        _put(geo, "county", _name(subdivisions[0]))
    if isinstance(postal, dict):
        _put(geo, "postal", _text(postal.get("code")))
    _put(geo, "latitude", _coordinate(location.get("latitude"), 90))
    _put(geo, "longitude", _coordinate(location.get("longitude"), 180))
    return geo


def geo_from_context(location: object) -> dict[str, Any]:
    """The known keys of a client-sent `context.location`, garbage skipped.

    `country` may be `{"name", "code"}` or a plain string: two letters are taken
    as an ISO code, anything longer as a name.
    """
    if not isinstance(location, dict):
        return {}
    country = location.get("country")
    country_geo: dict[str, str] = {}
    if isinstance(country, dict):
        _put(country_geo, "name", _text(country.get("name")))
        code = _text(country.get("code"))
        _put(country_geo, "code", code.upper() if code else None)
    elif (text := _text(country)) is not None:
        if len(text) == 2 and text.isalpha():
            country_geo["code"] = text.upper()
        else:
            country_geo["name"] = text
    geo: dict[str, Any] = {}
    _put(geo, "country", country_geo)
    for key in ("city", "county", "postal"):
        _put(geo, key, _text(location.get(key)))
    _put(geo, "latitude", _coordinate(location.get("latitude"), 90))
    _put(geo, "longitude", _coordinate(location.get("longitude"), 180))
    return geo


class GeoLocator:
    """IP -> geo through an optional MaxMind DB file.

    Opening a path that is not a readable MaxMind DB raises at once (a
    misconfiguration should fail start-up, not silently drop geo data);
    lookups never raise. The reader is memory-mapped and safe to share between
    threads.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._reader: Any = maxminddb.open_database(os.fspath(path)) if path else None

    def lookup(self, ip: str | None) -> dict[str, Any]:
        """Geo for a public IP; `{}` without a database, for private/invalid IPs
        and for addresses the database does not know."""
        reader = self._reader
        if reader is None or not isinstance(ip, str):
            return {}
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            return {}
        if not address.is_global:
            return {}
        try:
            record = reader.get(address)
        except (ValueError, OSError, InvalidDatabaseError):
            # IPv6 in an IPv4-only database, a closed or corrupt database
            return {}
        return geo_from_record(record)

    def close(self) -> None:
        """Release the database; later lookups answer `{}`."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()
