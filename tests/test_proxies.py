"""Both clients go through the environment's proxy (``HTTP_PROXY``/``HTTPS_PROXY``), as httpx's
own clients do, and never for loopback.

The API URL's host, ``ionworks-api.test``, does not resolve: a request reaches the real local
server only through the proxy below, which sends every request to that server. So these tests
fail when the clients ignore the proxy (they did: every client passes its own transport, and
httpx reads the environment only when it builds one)."""

from __future__ import annotations

import asyncio
import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import polars as pl
import pytest

from ionworks import AsyncIonworks, Ionworks
from ionworks import _proxies as proxies
from tests.server_process import free_port

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding"}


@contextmanager
def forwarding_proxy(upstream_port: int) -> Iterator[tuple[str, list[str]]]:
    """An HTTP proxy on loopback that forwards every request to ``127.0.0.1:upstream_port``,
    whatever host it names; yields its URL and the request targets it saw."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            seen.append(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            target = urlsplit(self.path)  # absolute-form from a client, origin-form upstream
            path = target.path + (f"?{target.query}" if target.query else "")
            upstream.request(self.command, path, body=body, headers=headers)
            response = upstream.getresponse()
            content = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP | {"content-length"}:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
            upstream.close()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def measurement_id(live_server: Any) -> str:
    """A time-series measurement of the demo data, found without any proxy."""
    with Ionworks(api_key=live_server.api_key, api_url=live_server.url) as client:
        project = client.whoami()["default_project_id"]
        page = client.cell_measurement.list_by_project(
            project, limit=1, measurement_type="time_series"
        )
        return page[0].id


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].strip("/"))


def test_the_sync_client_goes_through_the_proxy(
    live_server: Any, measurement_id: str, proxy_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A time series (the API's redirect, then the storage download) through the proxy."""
    port = _port(live_server.url)
    with forwarding_proxy(port) as (proxy, seen):
        proxy_env.setenv("HTTP_PROXY", proxy)
        client = Ionworks(
            api_key=live_server.api_key,
            api_url=f"http://ionworks-api.test:{port}",
            cache_dir=tmp_path,
        )
        frame = client.cell_measurement.time_series(measurement_id, use_cache=False)
        client.close()
    assert isinstance(frame, pl.DataFrame) and frame.height > 0
    assert f"http://ionworks-api.test:{port}/cell_measurements/{measurement_id}" in seen[-1], seen


def test_the_async_client_goes_through_the_proxy(
    live_server: Any, measurement_id: str, proxy_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    port = _port(live_server.url)

    async def pull() -> Any:
        async with AsyncIonworks(
            api_key=live_server.api_key,
            api_url=f"http://ionworks-api.test:{port}",
            cache_dir=tmp_path,
        ) as client:
            return await client.cell_measurement.time_series(measurement_id, use_cache=False)

    with forwarding_proxy(port) as (proxy, seen):
        proxy_env.setenv("HTTP_PROXY", proxy)
        frame = asyncio.run(pull())
    assert frame.height > 0
    assert f"http://ionworks-api.test:{port}/cell_measurements/{measurement_id}" in seen[-1], seen


def test_storage_downloads_take_the_proxy_too(proxy_env: pytest.MonkeyPatch) -> None:
    """The local server signs loopback URLs (never proxied), so the tests above download
    directly; a store elsewhere (S3's presigned URLs) goes through the proxy, as ``NO_PROXY``
    says, in both clients."""
    proxy_env.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    proxy_env.setenv("NO_PROXY", "internal.test")
    sync = Ionworks(api_key="k", api_url="http://127.0.0.1:1")
    asynchronous = AsyncIonworks(api_key="k", api_url="http://127.0.0.1:1")
    try:
        for storage in (sync._transports[1], asynchronous._transports[1]):
            assert isinstance(storage, (proxies.ProxyRouter, proxies.AsyncProxyRouter))
            bucket = storage._for(httpx.URL("https://bucket.s3.test/measurements/x.parquet"))
            assert bucket is not storage.direct
            assert storage._for(httpx.URL("https://internal.test/x")) is storage.direct
            assert storage._for(httpx.URL("http://localhost:8000/x")) is storage.direct
    finally:
        sync.close()
        asyncio.run(asynchronous.aclose())


def test_loopback_is_never_proxied(live_server: Any, proxy_env: pytest.MonkeyPatch) -> None:
    """A proxy set for the internet (here one that is down) does not cut off the local server."""
    proxy_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    proxy_env.setenv("HTTPS_PROXY", f"http://127.0.0.1:{free_port()}")
    with Ionworks(api_key=live_server.api_key, api_url=live_server.url, max_retries=0) as client:
        assert client.cell_spec.list(limit=1).total > 0
