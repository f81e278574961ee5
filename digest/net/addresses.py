"""Which addresses are not the public internet: loopback, private, link-local, multicast,
unspecified and reserved ranges, also when written in the spellings that reach them anyway
(2130706433 and 0177.0.0.1 are 127.0.0.1; ::ffff:127.0.0.1 is too)."""

from __future__ import annotations

import ipaddress
import socket


def non_public_kind(address: str) -> str:
    """What kind of non-public IP address this is ("loopback", "private", ...), or "" when it
    is public. `address` is an IP address as a resolver returns it."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return non_public_kind(str(embedded))
    for kind, test in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("private", ip.is_private),
    ):
        if test:
            return kind
    return "" if ip.is_global else "reserved"


def literal_address(host: str) -> str | None:
    """The IP address a host name *is*, without asking DNS: an IPv6 or IPv4 literal in any
    spelling inet_aton accepts. None for a real name."""
    host = host.strip("[]").rstrip(".")
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        pass
    try:
        return socket.inet_ntoa(socket.inet_aton(host))  # 2130706433, 0177.0.0.1, 0x7f.1
    except OSError:
        return None


def is_internal_host(host: str) -> bool:
    """A host that is visibly not on the public internet (no DNS lookup): an internal
    address literal, localhost or a .localhost name."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = literal_address(name)
    return address is not None and bool(non_public_kind(address))
