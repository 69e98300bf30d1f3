"""Where alerts may go. No server-side request forgery through a subscription: a target is https
on a public address, unless its host is listed in `MR_ALERT_ALLOWED_HOSTS`. Literal addresses are
checked before anything is sent; host names are resolved and every address checked, at creation
and again every poll interval while delivering."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Collection

import httpx
import yarl

from services.alerts.exceptions import UnsafeTarget

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_host(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeTarget(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    return [str(info[4][0]) for info in infos]


def _kind(ip: IpAddress) -> str | None:
    """Why `ip` is refused, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _kind(ip.ipv4_mapped)
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "non-public"),
    )
    return next((kind for refused, kind in checks if refused), None)


def check_address(address: str, host: str) -> None:
    ip = ipaddress.ip_address(address)
    kind = _kind(ip)
    if kind is not None:
        shown = host if host == address else f"{host} ({address})"
        raise UnsafeTarget(
            f"{shown} is a {kind} address: alerts go only to public addresses "
            "(a host inside the platform must be listed in MR_ALERT_ALLOWED_HOSTS)"
        )


def parse_target(url: str, allowed_hosts: Collection[str]) -> httpx.URL:
    """The URL if its form is acceptable: https, or http to an allowed host; a literal address
    must be public unless allowed. Raises `UnsafeTarget` saying why."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UnsafeTarget(f"not a valid URL: {exc}") from exc
    if parsed.scheme not in ("https", "http") or not parsed.host:
        raise UnsafeTarget("the URL must be https://host/...")
    if parsed.userinfo:
        raise UnsafeTarget("the URL must not carry credentials: the signature authenticates")
    _same_for_the_sender(url, parsed)
    if parsed.host in allowed_hosts:
        return parsed
    if _is_address(parsed.host):
        check_address(parsed.host, parsed.host)
    if parsed.scheme != "https":
        raise UnsafeTarget(
            f"the URL must be https (http only to hosts in MR_ALERT_ALLOWED_HOSTS, "
            f"not {parsed.host})"
        )
    return parsed


def _same_for_the_sender(url: str, parsed: httpx.URL) -> None:
    """Deliveries go through aiohttp, which parses URLs with yarl: a URL the two parsers read
    as different hosts (or ports) could pass this check and reach another host, so it is
    refused."""
    try:
        sent = yarl.URL(url)
    except ValueError as exc:
        raise UnsafeTarget(f"not a valid URL for the HTTP client: {exc}") from exc
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    checked = (parsed.scheme, _host_key(parsed.raw_host.decode("ascii")), port)
    if (sent.scheme, _host_key(sent.raw_host or ""), sent.port) != checked or sent.user:
        raise UnsafeTarget("the URL is ambiguous: its host reads differently to the HTTP client")


_DEFAULT_PORTS = {"https": 443, "http": 80}


def _host_key(host: str) -> str:
    """A host as both parsers should agree on it: an address in its canonical form."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.lower()


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def check_target(
    url: str, allowed_hosts: Collection[str], resolve: Resolver = resolve_host
) -> httpx.URL:
    """`parse_target`, then every address the host name resolves to must be public."""
    parsed = parse_target(url, allowed_hosts)
    if parsed.host in allowed_hosts or _is_address(parsed.host):
        return parsed
    for address in await resolve(parsed.host, parsed.port or 443):
        check_address(address, parsed.host)
    return parsed


def shown_url(url: str) -> str:
    """The URL without its path and query, which may hold a token (e.g. Slack's webhooks)."""
    parsed = httpx.URL(url)
    origin = f"{parsed.scheme}://{parsed.netloc.decode()}"
    return origin + ("/…" if parsed.raw_path not in (b"", b"/") else "/")
