import pytest

from kith.tracking.language import best_accept_language, language_from


def test_browser_language_wins() -> None:
    assert language_from("pl-PL", "en-US,en;q=0.9") == "pl-PL"


def test_header_when_no_browser_language() -> None:
    assert language_from(None, "de-DE,de;q=0.9,en;q=0.8") == "de-DE"
    assert language_from("", "fr") == "fr"
    assert language_from(["pl"], "fr") == "fr"


@pytest.mark.parametrize(
    ("header", "best"),
    [
        ("da, en-gb;q=0.8, en;q=0.7", "da"),
        ("en;q=0.5, fr;q=0.9, de;q=0.7", "fr"),
        ("*, en;q=0.4", "en"),
        ("*;q=1, es-419;q=0.3", "es-419"),
        ("en;q=0.8, pl;q=0.8", "en"),  # header order breaks ties
        ("en;q=0, fr;q=0.1", "fr"),  # q=0 means "not acceptable"
        ("en;q=abc, it;q=0.2", "it"),
        ("en;q=2, nl;q=0.2", "nl"),
        ("EN-us ; Q=0.9", "EN-us"),
    ],
)
def test_q_ordering(header: str, best: str) -> None:
    assert best_accept_language(header) == best


@pytest.mark.parametrize("header", [None, "", "*", ",,,", ";q=1", "<script>", "en;q=0"])
def test_nothing_usable(header: str | None) -> None:
    assert language_from(None, header) is None
