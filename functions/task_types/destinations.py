"""Where a task may send traffic: the SSRF policy for outbound requests (the webhook type).

A URL is admitted only if its scheme is ``https`` and its host is, or resolves only to, globally
routable unicast addresses: loopback, private (RFC 1918), shared (RFC 6598), link-local (the
instance metadata service at 169.254.169.254 included), unique-local IPv6 (fd00:ec2::254, the
IPv6 metadata address, included), multicast, unspecified and reserved addresses are refused, as
are IPv6 forms that embed such an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64). Credentials
in the URL are refused. Hosts the deployer names in ``WEBHOOK_ALLOWED_HOSTS`` skip the scheme
and address checks (a receiver on this machine, an internal service you mean to reach).

The check runs at submit and again just before delivery, and delivery connects to the very
addresses the check approved (``Destination.addresses``), so a name that resolves elsewhere by
then (DNS rebinding) is refused, never contacted.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
"""(host, port) → the addresses it resolves to, as strings; raises ``socket.gaierror``."""

MAX_URL_LENGTH = 2048
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")


class DestinationRefusedError(ValueError):
    """The URL may not be contacted; the message says why, for the caller."""


class DestinationUnresolvedError(Exception):
    """The host did not resolve now; it may later (at delivery: retryable)."""


@dataclass(frozen=True)
class Destination:
    url: str
    scheme: str
    host: str
    port: int
    target: str
    """Path and query, as sent in the request line."""
    addresses: tuple[str, ...]
    """The addresses to connect to, each one approved (or the host is allowed by name)."""
    allowed_by_name: bool


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_allowed_hosts(raw: str | None) -> frozenset[str]:
    """``WEBHOOK_ALLOWED_HOSTS``: comma-separated host names or addresses, any case."""
    return frozenset(_normal_host(host) for host in (raw or "").split(",") if host.strip())


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` may not be contacted (its class), or None if it is a public unicast one."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        reason = refusal(embedded)
        return f"{reason}, embedded in an IPv6 address" if reason else None
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (isinstance(address, ipaddress.IPv6Address) and address in _UNIQUE_LOCAL, "unique-local"),
        (isinstance(address, ipaddress.IPv4Address) and address in _SHARED, "shared (carrier-grade NAT)"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "not globally routable"),
    )
    return next((reason for refused, reason in checks if refused), None)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class DestinationPolicy:
    def __init__(
        self,
        allowed_hosts: Iterable[str] = (),
        resolve: Resolver = system_resolver,
        *,
        only_allowed_hosts: bool = False,
    ) -> None:
        """``only_allowed_hosts``: refuse every host but ``allowed_hosts`` (a deployer's list of
        the receivers it means to reach)."""
        self.allowed_hosts = frozenset(_normal_host(host) for host in allowed_hosts)
        self.only_allowed_hosts = only_allowed_hosts
        self._resolve = resolve

    @classmethod
    def from_setting(cls, allowed_hosts: str | None, only_allowed_hosts: bool = False) -> DestinationPolicy:
        """The policy ``WEBHOOK_ALLOWED_HOSTS`` (comma-separated hosts) and
        ``WEBHOOK_ALLOWED_HOSTS_ONLY`` describe."""
        return cls(parse_allowed_hosts(allowed_hosts), only_allowed_hosts=only_allowed_hosts)

    def check(self, url: str) -> Destination:
        """The destination, with the addresses to connect to; raises ``DestinationRefusedError``
        (never to be contacted) or ``DestinationUnresolvedError`` (the name did not resolve)."""
        parts = self._parse(url)
        host = _normal_host(parts.hostname or "")
        scheme = parts.scheme.lower()
        port = parts.port or (443 if scheme == "https" else 80)
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        allowed = host in self.allowed_hosts
        if self.only_allowed_hosts and not allowed:
            raise DestinationRefusedError(f"{host} is not one of this deployment's webhook hosts")
        if not allowed and scheme != "https":
            raise DestinationRefusedError(f"only https URLs are delivered, not {scheme}")
        literal = _literal(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = self._resolve(host, port)
            except (OSError, UnicodeError) as exc:
                raise DestinationUnresolvedError(f"{host} does not resolve: {exc}") from exc
            if not addresses:
                raise DestinationUnresolvedError(f"{host} resolves to no address")
        if not allowed:
            for text in addresses:
                reason = refusal(ipaddress.ip_address(text.split("%", 1)[0]))
                if reason is not None:
                    named = host if literal is not None else f"{host} resolves to {text}, which"
                    raise DestinationRefusedError(f"{named} is refused ({reason} address)")
        return Destination(url, scheme, host, port, target, tuple(addresses), allowed)

    @staticmethod
    def _parse(url: str) -> SplitResult:
        if len(url) > MAX_URL_LENGTH:
            raise DestinationRefusedError(f"the URL is longer than {MAX_URL_LENGTH} characters")
        if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
            raise DestinationRefusedError("the URL contains white space or control characters")
        try:
            parts = urlsplit(url)
            port = parts.port  # validates the port: digits, at most 65535
        except ValueError as exc:
            raise DestinationRefusedError(f"the URL is malformed: {exc}") from exc
        if port == 0:
            raise DestinationRefusedError("port 0 is not a port anything listens on")
        if parts.scheme.lower() not in {"http", "https"}:
            raise DestinationRefusedError(
                f"only https URLs are delivered, not {parts.scheme or 'a relative URL'}"
            )
        if not parts.hostname:
            raise DestinationRefusedError("the URL has no host")
        if parts.username is not None or parts.password is not None:
            raise DestinationRefusedError("credentials in the URL are refused; send them in headers")
        if parts.fragment:
            raise DestinationRefusedError("the URL has a fragment, which is never sent")
        return parts


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # Forms getaddrinfo accepts as IPv4 but ip_address does not: 2130706433, 0x7f.1, 127.1.
    try:
        packed = socket.inet_aton(host)
    except OSError:
        return None
    return ipaddress.IPv4Address(packed)
