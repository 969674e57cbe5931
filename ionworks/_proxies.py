"""Proxies from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``).

httpx reads them only when a client builds its own transport; ours always pass one (the retry
policy, the call deadline, the asyncio backend), so without this a client behind a company proxy
ignored ``HTTPS_PROXY`` and failed to connect. The environment is read as httpx reads it, plus
one rule of our own: loopback (``localhost``, ``127.0.0.1``, ``[::1]``) is never proxied, so the
local server keeps working where a proxy is set for the internet and ``NO_PROXY`` forgot it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from httpx._utils import URLPattern, get_environment_proxies

LOOPBACK = ("all://localhost", "all://127.0.0.1", "all://[::1]")


def environment_proxies() -> dict[str, str | None]:
    """{URL pattern: proxy URL, or None for no proxy}; empty when no proxy is set."""
    found = get_environment_proxies()
    if not any(found.values()):
        return {}
    return {**found, **dict.fromkeys(LOOPBACK)}


def _routes(
    make: Callable[..., Any], proxies: dict[str, str | None]
) -> list[tuple[URLPattern, Any]]:
    """The proxied transports, most specific pattern first (httpx's own order)."""
    routes = [
        (URLPattern(pattern), make(proxy=url) if url else None) for pattern, url in proxies.items()
    ]
    return sorted(routes, key=lambda route: route[0])


class ProxyRouter(httpx.BaseTransport):
    """Each request to the transport its URL's proxy setting names (direct when none)."""

    def __init__(self, make: Callable[..., httpx.BaseTransport], proxies: dict[str, str | None]):
        self.direct = make()
        self.routes = _routes(make, proxies)

    def _for(self, url: httpx.URL) -> httpx.BaseTransport:
        for pattern, transport in self.routes:
            if pattern.matches(url):
                return transport or self.direct
        return self.direct

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._for(request.url).handle_request(request)

    def close(self) -> None:
        for transport in {id(t): t for _, t in self.routes if t is not None}.values():
            transport.close()
        self.direct.close()


class AsyncProxyRouter(httpx.AsyncBaseTransport):
    """:class:`ProxyRouter` for the async client."""

    def __init__(
        self, make: Callable[..., httpx.AsyncBaseTransport], proxies: dict[str, str | None]
    ):
        self.direct = make()
        self.routes = _routes(make, proxies)

    def _for(self, url: httpx.URL) -> httpx.AsyncBaseTransport:
        for pattern, transport in self.routes:
            if pattern.matches(url):
                return transport or self.direct
        return self.direct

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._for(request.url).handle_async_request(request)

    async def aclose(self) -> None:
        for transport in {id(t): t for _, t in self.routes if t is not None}.values():
            await transport.aclose()
        await self.direct.aclose()


def transport(make: Callable[..., httpx.BaseTransport]) -> httpx.BaseTransport:
    """``make()``, or a router over ``make()`` and ``make(proxy=...)`` when a proxy is set."""
    proxies = environment_proxies()
    return ProxyRouter(make, proxies) if proxies else make()


def async_transport(make: Callable[..., httpx.AsyncBaseTransport]) -> httpx.AsyncBaseTransport:
    """:func:`transport` for the async client."""
    proxies = environment_proxies()
    return AsyncProxyRouter(make, proxies) if proxies else make()
