"""The client address a request's failed logins count against.

The socket peer, unless the peer is one of ``PLAYBALL_AUTH_TRUSTED_PROXIES``: then
``X-Forwarded-For`` is read from the right (the hop our proxy added last), skipping
further trusted proxies, and the first address not trusted is the client. Anything a
client writes further left is ignored, so it cannot pick the address it is counted
against. An unparsable entry ends the walk at the last address known to be real.

IPv6 clients count per /64: one subscriber usually holds a whole /64, and counting its
2^64 addresses one by one would not throttle anyone.
"""

import functools
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from fastapi import Request

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address

ADDRESS_MAX = 64  # the throttle table's column
IPV6_PREFIX = 64


# the same few peers and proxies ask again and again: parsing an address was a fiftieth
# of the API's CPU per request
_PARSED_KEPT = 1024


@functools.lru_cache(maxsize=_PARSED_KEPT)
def _parsed(text: str) -> Address | None:
    try:
        address = ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:a.b.c.d is a.b.c.d
    return address


def _trusted(address: Address, proxies: Sequence[Network]) -> bool:
    return any(address in network for network in proxies)


@functools.lru_cache(maxsize=_PARSED_KEPT)
def _key(address: Address) -> str:
    if isinstance(address, IPv6Address):
        return str(IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], proxies: Sequence[Network]
) -> str | None:
    """The throttle's key for the client: an IPv4 address, an IPv6 /64, or the peer's
    name as given (a test client's, a Unix socket's); None if there is no peer."""
    if peer is None:
        return None
    client = _parsed(peer)
    if client is None:
        return peer[:ADDRESS_MAX]
    if _trusted(client, proxies):
        hops = [hop for header in forwarded_for for hop in header.split(",")]
        for hop in reversed(hops):
            address = _parsed(hop)
            if address is None:
                break
            client = address
            if not _trusted(address, proxies):
                break
    return _key(client)


def of_request(request: Request, proxies: Sequence[Network]) -> str | None:
    peer = request.client.host if request.client is not None else None
    return client_address(peer, request.headers.getlist("x-forwarded-for"), proxies)
