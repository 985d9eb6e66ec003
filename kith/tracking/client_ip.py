"""Which address a request really came from.

Behind a load balancer the TCP peer is the proxy, and the client's address is in
X-Forwarded-For. That header is client-writable, so it is believed only when the
peer is one of our trusted proxies, and then only from the right: every hop we
trust appends what it saw, so the right-most address that is not one of our own
proxies is the first one nobody we trust could have forged.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ip(value: str | None) -> IPAddress | None:
    """An address from a peer or X-Forwarded-For entry, or None if it is not one.

    Accepts the forms proxies actually write: `1.2.3.4`, `1.2.3.4:5678`,
    `[2001:db8::1]:443`, `2001:db8::1`. IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a
    dual-stack socket reports) is turned back into IPv4.
    """
    if not isinstance(value, str):
        return None
    text = value.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port; IPv6 has at least two colons
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, trusted: tuple[Network, ...]) -> bool:
    # `in` across IP versions is simply False, never an error.
    return any(address in network for network in trusted)


def client_ip(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]
) -> str | None:
    """The client's address as a canonical string, or None if the peer is not an IP.

    Uses the peer unless the peer is a trusted proxy; then walks X-Forwarded-For
    from the right past the trusted proxies and takes the first untrusted address.
    A malformed entry ends the walk and the peer is used (the chain can no longer
    be trusted). If every listed hop is trusted, the left-most one is the client.
    """
    peer_ip = parse_ip(peer)
    if peer_ip is None or not forwarded_for or not _trusted(peer_ip, trusted):
        return str(peer_ip) if peer_ip is not None else None
    if not isinstance(forwarded_for, str):
        return str(peer_ip)
    hop = peer_ip
    for entry in reversed(forwarded_for.split(",")):
        if not entry.strip():
            continue
        address = parse_ip(entry)
        if address is None:
            return str(peer_ip)
        hop = address
        if not _trusted(address, trusted):
            break
    return str(hop)
