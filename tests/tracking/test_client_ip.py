import ipaddress

import pytest

from kith.tracking.client_ip import client_ip, parse_ip

TRUSTED = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))


def test_untrusted_peer_ignores_forwarded_for() -> None:
    assert client_ip("203.0.113.9", "1.2.3.4", TRUSTED) == "203.0.113.9"
    assert client_ip("10.1.1.1", "1.2.3.4", ()) == "10.1.1.1"


def test_trusted_peer_uses_right_most_untrusted_hop() -> None:
    # the client forged 6.6.6.6; 1.2.3.4 is what our proxy saw
    assert client_ip("10.0.0.2", "6.6.6.6, 1.2.3.4", TRUSTED) == "1.2.3.4"


def test_trusted_hops_are_skipped() -> None:
    assert client_ip("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.7, 10.0.0.8", TRUSTED) == "1.2.3.4"


def test_all_hops_trusted_gives_left_most() -> None:
    assert client_ip("10.0.0.2", "10.9.9.9, 10.0.0.7", TRUSTED) == "10.9.9.9"


def test_invalid_entry_stops_the_walk() -> None:
    assert client_ip("10.0.0.2", "1.2.3.4, unknown", TRUSTED) == "10.0.0.2"
    assert client_ip("10.0.0.2", "1.2.3.4, 10.0.0.5, garbage", TRUSTED) == "10.0.0.2"


def test_invalid_entry_left_of_the_client_does_not_matter() -> None:
    assert client_ip("10.0.0.2", "garbage, 1.2.3.4", TRUSTED) == "1.2.3.4"


def test_no_or_empty_forwarded_for() -> None:
    assert client_ip("10.0.0.2", None, TRUSTED) == "10.0.0.2"
    assert client_ip("10.0.0.2", "", TRUSTED) == "10.0.0.2"
    assert client_ip("10.0.0.2", " , ", TRUSTED) == "10.0.0.2"


def test_ipv6_and_ports() -> None:
    assert client_ip("fd00::1", "2001:db8::5", TRUSTED) == "2001:db8::5"
    assert client_ip("10.0.0.2", "[2001:DB8::5]:443", TRUSTED) == "2001:db8::5"
    assert client_ip("10.0.0.2", "1.2.3.4:5678", TRUSTED) == "1.2.3.4"


def test_ipv4_mapped_peer_is_ipv4() -> None:
    assert client_ip("::ffff:10.0.0.2", "1.2.3.4", TRUSTED) == "1.2.3.4"
    assert client_ip("::ffff:81.2.69.1", None, ()) == "81.2.69.1"


@pytest.mark.parametrize("peer", [None, "", "testclient", "999.1.1.1"])
def test_peer_that_is_not_an_ip(peer: str | None) -> None:
    assert client_ip(peer, "1.2.3.4", TRUSTED) is None


def test_parse_ip() -> None:
    assert str(parse_ip(" 1.2.3.4 ")) == "1.2.3.4"
    assert str(parse_ip('"[::1]:80"')) == "::1"
    assert parse_ip("1.2.3.4:x:y") is None
    assert parse_ip(None) is None
