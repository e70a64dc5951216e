"""Which addresses a registered device may point us at (SECURITY.md I11).

A host is judged by the addresses the OS would connect to, not by its spelling:
`2852039166`, `0xa9fea9fe`, `169.254.43518` and `0251.0376.0251.0376` are all
169.254.169.254 to `inet_aton`, and a name may resolve anywhere. So every address a host
resolves to is checked, at registration and again just before we connect (we then connect
to the checked address, so a DNS answer cannot change in between).
"""

from __future__ import annotations

import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata / platform endpoints outside the link-local ranges.
_METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("168.63.129.16"),  # Azure wire server
}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class HostRefused(ValueError):
    """The host is, or resolves to, an address we never connect to."""


def _embedded_v4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, NAT64), else itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def refused(address: IPAddress) -> str | None:
    """Why we never connect to `address`, or None when it is fine."""
    address = _embedded_v4(address)
    if address in _METADATA:
        return "cloud metadata address"
    if address.is_link_local:
        return "link-local address"
    if address.is_unspecified:
        return "unspecified address"
    if address.is_multicast or (isinstance(address, ipaddress.IPv4Address) and address.is_reserved):
        return "multicast or reserved address"
    return None


def literal(host: str) -> IPAddress | None:
    """The address `host` spells as the OS reads it (any inet_aton form), else None."""
    text = host.strip().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    try:  # decimal, hex, octal and short dotted forms: what connect() would use
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def resolve(host: str) -> list[IPAddress]:
    """Every address `host` resolves to, as the OS resolves it (empty if it does not)."""
    found = literal(host)
    if found is not None:
        return [found]
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check(host: str) -> None:
    """Raise HostRefused if any address of `host` is refused (an unresolvable name passes)."""
    for address in resolve(host):
        reason = refused(address)
        if reason is not None:
            raise HostRefused(reason)


def connect_address(host: str) -> str:
    """The checked address to connect to for `host` (raises HostRefused)."""
    addresses = resolve(host)
    if not addresses:
        raise HostRefused("host does not resolve")
    for address in addresses:
        reason = refused(address)
        if reason is not None:
            raise HostRefused(reason)
    return str(_embedded_v4(addresses[0]))
