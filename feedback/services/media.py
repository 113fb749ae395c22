"""Fetching a photo from a URL an outside system gave (Open311's `media_url`) without
letting that URL reach inside the province's network (server-side request forgery).

The host name is resolved once; every address it resolves to must be a public one
(not loopback, private, link-local, shared, multicast, reserved or unspecified,
IPv4 hidden in IPv6 included), and the connection goes to the address that was
checked, so a second DNS answer cannot swap in an inside address. Redirects are
followed by hand, a few at most, each checked the same way. The body is read to a
size limit within a time limit. A deployment that keeps its media on its own network
sets OPEN311_ALLOW_PRIVATE_MEDIA; multicast and unspecified addresses stay refused.
What comes back is bytes; whether they are a photo is the photo pipeline's question.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 3
MAX_URL_LENGTH = 2000
_CHUNK = 64 * 1024
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
USER_AGENT = "PhanAnh-Open311/1 (media fetch)"

Resolver = Callable[[str, int], list[str]]


class MediaRefused(Exception):
    """The media cannot be fetched; `code` for machines, the message for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise MediaRefused("unresolvable", f"Cannot resolve {host}.") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(text: str, *, allow_private: bool) -> str | None:
    """Why a connection to this address is refused, or None."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if address.is_multicast or address.is_unspecified:
        return "a multicast or unspecified address"
    if isinstance(address, ipaddress.IPv4Address) and address == ipaddress.IPv4Address(
            "255.255.255.255"):
        return "the broadcast address"
    if allow_private:
        return None
    candidates = [address]
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            candidates.append(embedded)
    for candidate in candidates:
        if candidate.is_loopback:
            return "a loopback address"
        if candidate.is_link_local:
            return "a link-local address"
        if candidate.is_multicast or candidate.is_unspecified:
            return "a multicast or unspecified address"
        if candidate.is_private:
            return "a private address"
        if candidate.is_reserved:
            return "a reserved address"
        if isinstance(candidate, ipaddress.IPv4Address) and candidate in _SHARED:
            return "a shared (carrier NAT) address"
        if not candidate.is_global:
            return "not a public address"
    return None


class _Deadline:
    def __init__(self, seconds: float, clock=time.monotonic):
        self.clock = clock
        self.end = clock() + seconds

    def left(self) -> float:
        remaining = self.end - self.clock()
        if remaining <= 0:
            raise MediaRefused("timeout", "The media took too long to fetch.")
        return remaining


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever DNS says now."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout, context):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the host name, not the address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _target(url: str) -> tuple[str, str, int, str]:
    if len(url) > MAX_URL_LENGTH:
        raise MediaRefused("invalid_url", f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise MediaRefused("invalid_url", "Not a valid URL.") from exc
    if parts.scheme not in ("http", "https"):
        raise MediaRefused("invalid_url", "Only http and https URLs are fetched.")
    if not parts.hostname:
        raise MediaRefused("invalid_url", "The URL names no host.")
    if parts.username is not None or parts.password is not None:
        raise MediaRefused("invalid_url", "URLs with credentials are not fetched.")
    port = port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


def fetch_media(url: str, *, max_bytes: int, timeout: float, allow_private: bool = False,
                resolver: Resolver = system_resolver,
                ssl_context: ssl.SSLContext | None = None) -> bytes:
    """The body at `url`, at most `max_bytes`, within `timeout` seconds in all."""
    deadline = _Deadline(timeout)
    for _ in range(MAX_REDIRECTS + 1):
        scheme, host, port, path = _target(url)
        addresses = resolver(host, port)
        if not addresses:
            raise MediaRefused("unresolvable", f"Cannot resolve {host}.")
        for address in addresses:
            problem = address_problem(address, allow_private=allow_private)
            if problem:
                raise MediaRefused("forbidden_address",
                                   f"{host} is {problem}; media is fetched from public "
                                   "addresses only.")
        if scheme == "https":
            connection = _PinnedHTTPSConnection(host, port, addresses[0], deadline.left(),
                                                ssl_context or ssl.create_default_context())
        else:
            connection = _PinnedHTTPConnection(host, port, addresses[0], deadline.left())
        try:
            connection.request("GET", path, headers={"User-Agent": USER_AGENT,
                                                     "Accept": "image/*"})
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise MediaRefused("bad_response", "A redirect without a Location.")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise MediaRefused("bad_response",
                                   f"The media URL answered HTTP {response.status}.")
            return _read_body(response, connection, max_bytes, deadline)
        except MediaRefused:
            raise
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, TimeoutError | socket.timeout):
                raise MediaRefused("timeout", "The media took too long to fetch.") from exc
            raise MediaRefused("unreachable", f"Cannot fetch the media: {exc}.") from exc
        finally:
            connection.close()
    raise MediaRefused("too_many_redirects", f"More than {MAX_REDIRECTS} redirects.")


def _read_body(response, connection, max_bytes: int, deadline: _Deadline) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise MediaRefused("too_large", f"The media is larger than {max_bytes} bytes.")
    chunks, size = [], 0
    while True:
        # Each read may wait only as long as the whole fetch has left.
        if connection.sock is not None:
            connection.sock.settimeout(deadline.left())
        chunk = response.read1(_CHUNK) if hasattr(response, "read1") else response.read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise MediaRefused("too_large", f"The media is larger than {max_bytes} bytes.")
        chunks.append(chunk)
        deadline.left()
    return b"".join(chunks)
