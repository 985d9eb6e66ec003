import pytest

from kith.tracking.utm import utm_from

NONE = {"source": None, "medium": None, "campaign": None, "term": None, "content": None}


def test_context_wins_and_url_fills_gaps() -> None:
    utm = utm_from(
        {"source": "newsletter", "medium": "email", "term": None},
        "https://shop.example.com/?utm_source=google&utm_term=shoes&utm_content=hero",
    )
    assert utm == {
        "source": "newsletter",
        "medium": "email",
        "campaign": None,
        "term": "shoes",
        "content": "hero",
    }


def test_url_only() -> None:
    url = "https://x.example/p?a=1&utm_source=fb&utm_medium=cpc&utm_campaign=spring%20sale"
    assert utm_from(None, url) == {
        **NONE,
        "source": "fb",
        "medium": "cpc",
        "campaign": "spring sale",
    }


def test_first_url_value_wins_and_blank_ones_are_absent() -> None:
    url = "https://x.example/?utm_source=&utm_source=a&utm_source=b&utm_medium=%20"
    assert utm_from({}, url) == {**NONE, "source": "a"}


def test_only_the_five_keys() -> None:
    utm = utm_from({"id": "x", "source": "s"}, "https://x.example/?utm_id=1&utm_foo=2")
    assert utm == {**NONE, "source": "s"}


def test_blank_context_values_fall_back_to_url() -> None:
    utm = utm_from({"source": "  ", "medium": 3}, "https://x/?utm_source=u&utm_medium=m")
    assert utm == {**NONE, "source": "u", "medium": "m"}


@pytest.mark.parametrize(
    ("context_utm", "page_url"),
    [
        (None, None),
        ([1, 2], "not a url"),
        ("utm_source=x", "http://[::1/?utm_source=x"),
        ({"source": {"nested": 1}, "medium": ["a"]}, 42),
        (7, "?utm_source"),
    ],
)
def test_garbage_never_raises(context_utm: object, page_url: object) -> None:
    assert utm_from(context_utm, page_url) == NONE  # type: ignore[arg-type]
