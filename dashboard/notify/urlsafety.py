"""Which URLs Wattson may POST notifications to (server-side request forgery protection).

A team member types a webhook URL; a worker inside the operator's network POSTs to it. Without checks that
member could reach the instance metadata service (169.254.169.254), the database or any internal admin
page. So a destination is refused unless:

- its scheme is https (plain http only when every address of the host is in the operator's allow-list);
- it carries no credentials (``user:password@``), which would otherwise be silently dropped;
- *every* address its host resolves to is public: not private, loopback, link-local, multicast, reserved,
  unspecified or otherwise non-global, IPv4 or IPv6, including IPv4 addresses embedded in IPv6 ones
  (IPv4-mapped ``::ffff:a.b.c.d`` and NAT64 ``64:ff9b::a.b.c.d`` are judged by
  that IPv4 address; 6to4 and Teredo by both) — unless it is inside one of the CIDRs in
  ``settings.WEBHOOK_ALLOWED_NETWORKS`` (env ``WEBHOOK_ALLOWED_NETWORKS``, default empty), for receivers
  the operator deliberately runs inside their network.

``resolve`` returns the checked addresses so the caller connects to exactly those (no second DNS lookup
that a rebinding DNS server could answer differently). A DNS failure is not a verdict on safety: it
propagates as ``socket.gaierror`` for the caller to classify.

Kept rather than a library: the SSRF guards for ``requests`` we know of either check the host name before a
second, unchecked lookup (open to DNS rebinding) or judge only IPv4 and miss embedded IPv4 forms (NAT64, 6to4,
Teredo); this module checks every resolved address and hands those very addresses to the connection.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
DEFAULT_PORTS = {"https": 443, "http": 80}


class UnsafeDestination(Exception):
    """The URL must not be contacted; the message says why."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]
    target: str  # path and query, as sent in the request line


def check_url(url: str) -> None:
    """Raise ``UnsafeDestination`` unless ``url`` may be contacted now (resolves the host)."""
    resolve(url)


def resolve(url: str) -> Destination:
    """The checked destination of ``url``: scheme, host, port and the (all safe) addresses to connect to."""
    parts = _split(url)
    host, port = parts.hostname, _port(parts)
    addresses = _addresses(host, port)
    allowed = all(_in_allow_list(ipaddress.ip_address(a)) for a in addresses)
    for address in addresses:
        _check_address(host, ipaddress.ip_address(address))
    if parts.scheme == "http" and not allowed:
        raise UnsafeDestination("only https is allowed (http only for hosts in WEBHOOK_ALLOWED_NETWORKS)")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(parts.scheme, host, port, addresses, target)


def _split(url: str):
    parts = urlsplit(url.strip())
    if parts.scheme not in DEFAULT_PORTS:
        raise UnsafeDestination(f"scheme {parts.scheme or '(none)'!r} is not allowed, use https")
    if not parts.hostname:
        raise UnsafeDestination("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination("credentials in the URL are not supported")
    return parts


def _port(parts) -> int:
    try:
        return parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise UnsafeDestination(f"invalid port: {exc}") from None


def _addresses(host: str, port: int) -> tuple[str, ...]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = tuple(dict.fromkeys(info[4][0].split("%")[0] for info in infos))
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address")
    return addresses


def _check_address(host: str, address: IPAddress) -> None:
    if _in_allow_list(address):
        return
    for candidate in _judged(address):
        reason = _non_public(candidate)
        if reason:
            shown = host if host == str(address) else f"{host} ({address})"
            raise UnsafeDestination(f"{shown} is not a public address ({reason})")


def _judged(address: IPAddress) -> list[IPAddress]:
    """The addresses that decide: an IPv4-mapped or NAT64 address is what its IPv4 address is; a 6to4 or
    Teredo address must be public and so must the IPv4 address it carries."""
    if address.version == 4:
        return [address]
    if address.ipv4_mapped:
        return [address.ipv4_mapped]
    if address in NAT64:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    carried = [address.sixtofour, address.teredo[1] if address.teredo else None]
    return [address] + [c for c in carried if c is not None]


def _non_public(address: IPAddress) -> str | None:
    for flag in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{flag}"):
            return flag.replace("_", "-")
    if address.version == 6 and address.is_site_local:
        return "site-local"
    return None if address.is_global else "non-global"


def _in_allow_list(address: IPAddress) -> bool:
    candidates = [address, *_judged(address)]
    return any(c in network for network in allowed_networks() for c in candidates if c.version == network.version)


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``settings.WEBHOOK_ALLOWED_NETWORKS`` as networks (a string is read as a comma-separated list)."""
    raw = getattr(settings, "WEBHOOK_ALLOWED_NETWORKS", []) or []
    if isinstance(raw, str):
        raw = [item for item in raw.split(",") if item.strip()]
    return [ipaddress.ip_network(item.strip(), strict=False) for item in raw]
