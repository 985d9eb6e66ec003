"""The patterns the OpenAPI document shows say exactly what validation takes.

Each is checked two ways: Python's validation accepts a value if and only if the
pattern matches it, and a JSON Schema validator (jsonschema-rs, Rust's regex,
close to what generated clients use) reads the pattern as Python does."""

from __future__ import annotations

import re
from datetime import date, datetime

import jsonschema_rs
import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from kith.api.admin.data import MOMENT_PATTERN, Moment
from kith.api.admin.fields import NOT_BLANK
from kith.api.admin.identity import region_pattern
from kith.api.admin.sources import SOURCE_ID_PATTERN, SourceCreate
from kith.api.collector_openapi import NAMED
from kith.domain.payload import normalise_event_type

WHITESPACE = [chr(c) for c in range(0x110000) if chr(c).isspace()]
# every whitespace and control character, the BOM, and a spread of others
SAMPLE = [chr(c) for c in (*range(0x3100), 0xFEFF, 0x1F600)]
texts = st.text(st.sampled_from([*WHITESPACE, "/", "@", "\x00", "\x7f", "a", "Z", "é", "-"]))


def json_schema_reads(pattern: str, value: str) -> bool:
    return bool(jsonschema_rs.validator_for({"pattern": pattern}).is_valid(value))


def test_not_blank_is_what_strip_removes() -> None:
    for char in SAMPLE + WHITESPACE:
        expected = char.strip() != ""
        assert (re.search(NOT_BLANK, char) is not None) == expected, hex(ord(char))
        assert json_schema_reads(NOT_BLANK, char) == expected, hex(ord(char))


@given(st.one_of(texts, st.text()))
def test_a_source_id_is_accepted_exactly_when_the_pattern_matches(raw: str) -> None:
    matches = len(raw) <= 256 and re.fullmatch(SOURCE_ID_PATTERN, raw) is not None
    assert json_schema_reads(SOURCE_ID_PATTERN, raw) == (
        re.fullmatch(SOURCE_ID_PATTERN, raw) is not None
    )
    try:
        stored = SourceCreate.model_validate({"id": raw}).id
    except ValidationError:
        assert not matches
        return
    assert matches and stored is not None
    assert stored == raw.strip().lower() and not stored.startswith("@")
    assert not any(char.isspace() or char == "/" or ord(char) < 0x20 for char in stored)


def _moment(value: str) -> datetime:
    moment: datetime = TypeAdapter(Moment).validate_python(value)
    return moment


@given(st.from_regex(MOMENT_PATTERN, fullmatch=True))
def test_every_time_the_pattern_allows_is_taken_unless_the_calendar_lacks_it(text: str) -> None:
    assert json_schema_reads(MOMENT_PATTERN, text)
    year, month, day = (int(part) for part in text[:10].split("-"))
    try:
        date(year, month, day)
    except ValueError:
        with pytest.raises(ValidationError):
            _moment(text)
        return
    assert _moment(text).tzinfo is not None


@pytest.mark.parametrize(
    "text", ["1700000000", "0.5", "2026-01-31 10:00", "2026-1-31", "26-01-31", "0000-01-01", ""]
)
def test_times_outside_the_pattern_are_refused(text: str) -> None:
    assert not json_schema_reads(MOMENT_PATTERN, text)
    with pytest.raises(ValidationError):
        _moment(text)


def test_the_region_pattern_is_the_supported_regions_in_any_case() -> None:
    pattern = region_pattern()
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    letters += [letter.lower() for letter in letters]
    for first in letters:
        for second in letters:
            code = first + second
            expected = code.upper() in phonenumbers.SUPPORTED_REGIONS
            assert (re.search(pattern, code) is not None) == expected, code
    assert json_schema_reads(pattern, "de") and not json_schema_reads(pattern, "XX")


@given(st.one_of(texts, st.text()))
def test_a_collector_name_matches_when_it_normalises_to_something(raw: str) -> None:
    expected = "\x00" not in raw and normalise_event_type(raw) != ""
    assert (re.search(NAMED, raw) is not None) == expected
    assert json_schema_reads(NAMED, raw) == expected
