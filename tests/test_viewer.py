"""The browser viewer at /viewer/, driven in Debian's chromium through Playwright (issue 15).

One browser for the module, a fresh context (so a fresh sessionStorage) per test, against the
session's demo server. Each page is saved as a screenshot under the test run's temp dir (the
path is printed; ``IONWORKS_VIEWER_SHOTS=DIR`` saves them there instead). Without chromium,
Playwright or the built assets the tests skip saying what to install, except under CI (CI=true),
where .ci/run installs all three and a skip would hide a broken setup: there they fail.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from conftest import http_client, upload_time_series, wait_processed
from server_process import ServerProcess, start_server

from ionworks import Ionworks
from ionworks_server.viewer import ASSETS_DIR

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SPEC = "NCM622/Graphite Coin Cell"


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install -e '.[dev]'"
    if not CHROMIUM.exists():
        return "chromium is not installed: apt-get install chromium (scripts/system_packages.sh)"
    if not (ASSETS_DIR / "index.html").is_file():
        return "the viewer is not built: make setup (needs Node.js 20 and npm)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"viewer tests cannot run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("IONWORKS_VIEWER_SHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("viewer-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"viewer screenshots in {folder}")
    return folder


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page in a fresh context; collects page errors and dialogs (neither may happen)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.errors = []
    page.dialogs = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    try:
        yield page
    finally:
        context.close()


def login(page: Any, server: ServerProcess, key: str | None = None) -> None:
    """From the login form: any key this tab already holds is dropped first."""
    page.goto(f"{server.url}/viewer/")
    page.evaluate("() => sessionStorage.clear()")
    page.reload()
    page.get_by_test_id("login-key").fill(key or server.api_key)
    page.get_by_test_id("login-submit").click()


def search(page: Any, **fields: str) -> None:
    for name, value in fields.items():
        page.locator(f"form.filters [name={name}]").fill(value)
    page.get_by_test_id("spec-search-submit").click()


def open_march_series(page: Any, server: ServerProcess) -> str:
    """Log in and click through to batch-A's first March 2026 time series; its id."""
    login(page, server)
    search(page, exact=SPEC)
    page.wait_for_url(re.compile(r"exact=NCM622"))
    page.get_by_test_id("spec-row").filter(has_text=SPEC).click()
    page.get_by_test_id("instance-row").filter(has_text="batch-A").first.click()
    page.locator("form.filters [name=type]").select_option("time_series")
    page.locator("form.filters [name=started_after]").fill("2026-03-01")
    page.locator("form.filters [name=started_before]").fill("2026-03-31")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url(re.compile(r"started_after=2026-03-01"))
    page.get_by_test_id("measurement-row").first.click()
    page.locator("[data-testid=timeseries-plot][data-ready='1']").wait_for()
    match = re.search(r"#/measurement/([^?]+)", page.url)
    assert match, page.url
    return match.group(1)


def painted_pixels(page: Any) -> int:
    """Pixels of the plot's canvases that are not blank (lines and overlays)."""
    return int(
        page.evaluate(
            """() => [...document.querySelectorAll('[data-testid=timeseries-plot] canvas')]
            .reduce((n, c) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let k = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) k++; return n + k }, 0)"""
        )
    )


def test_search_browse_plot_cycles_and_bookmark(
    page: Any, live_server: ServerProcess, shots: Path
) -> None:
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    login(page, live_server)
    page.get_by_test_id("spec-search").fill("graphite")
    page.get_by_test_id("spec-search").press("Enter")
    page.wait_for_url(re.compile(r"q=graphite"))
    total = client.cell_spec.list(name="graphite").total
    assert page.get_by_test_id("spec-total").text_content() == str(total)
    page.screenshot(path=shots / "specs.png")

    measurement_id = open_march_series(page, live_server)
    detail = client.cell_measurement.detail(measurement_id)
    plot = page.get_by_test_id("timeseries-plot")
    assert painted_pixels(page) > 5000
    assert int(plot.get_attribute("data-overlays") or 0) > 0
    toggles = page.get_by_test_id("step-overlay")
    assert toggles.count() == 5  # rest, discharge, charge, constant voltage, other
    for i in range(5):
        toggles.nth(i).locator("input").uncheck()
    overlays = (
        "() => Number(document.querySelector('[data-testid=timeseries-plot]').dataset.overlays)"
    )
    page.wait_for_function(f"() => ({overlays})() === 0")
    toggles.nth(0).locator("input").check()
    page.wait_for_function(f"() => ({overlays})() > 0")

    rows = page.get_by_test_id("cycles-table").locator("tbody tr")
    cycles = detail.cycles
    assert rows.count() == cycles.height
    header = page.get_by_test_id("cycles-table").locator("thead th").all_text_contents()
    assert header == cycles.columns
    column = header.index("Discharge capacity [A.h]")
    shown = [
        float(rows.nth(i).locator("td").nth(column).text_content()) for i in range(rows.count())
    ]
    assert shown == pytest.approx(cycles["Discharge capacity [A.h]"].to_list(), rel=1e-5)
    page.screenshot(path=shots / "measurement.png", full_page=True)

    # The URL is the bookmark (and never holds the key); a reload comes back to the same plot.
    assert f"#/measurement/{measurement_id}" in page.url
    assert live_server.api_key not in page.url
    page.reload()
    page.locator("[data-testid=timeseries-plot][data-ready='1']").wait_for()
    assert page.locator("h2").first.text_content() == detail.name
    assert page.errors == [] and page.dialogs == []


def test_zoom_refines_the_window_from_range_reads(
    page: Any, live_server: ServerProcess, shots: Path
) -> None:
    open_march_series(page, live_server)
    plot = page.get_by_test_id("timeseries-plot")
    page.get_by_test_id("zoom-in").click()
    page.get_by_test_id("zoom-in").click()
    page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=timeseries-plot]').dataset.refines) >= 2"
    )
    assert plot.get_attribute("data-refine-source") == "range"
    moved = int(plot.get_attribute("data-range-bytes") or 0)
    storage = page.evaluate(
        """() => performance.getEntriesByType('resource')
            .filter(e => e.name.includes('/storage/measurements/')).length"""
    )
    assert storage >= 2  # the footer, then the window's column chunks
    href = page.get_by_test_id("download-time_series").get_attribute("href")
    size = httpx.head(live_server.url + href).headers["content-length"]
    assert 0 < moved < int(size)
    assert painted_pixels(page) > 5000
    # What is drawn is the file's own rows in the window, its extrema included.
    drawn = plot.evaluate(
        "el => ({t0: el.viewerWindow.t0, t1: el.viewerWindow.t1, data: Object.fromEntries("
        "Object.entries(el.viewerWindow.data).map(([k, [x, y]]) => [k, [[...x], [...y]]]))})"
    )
    frame = pl.read_parquet(io.BytesIO(httpx.get(live_server.url + href).content))
    inside = frame.filter(pl.col("Time [s]").is_between(drawn["t0"], drawn["t1"]))
    assert 0 < inside.height < frame.height
    for column, (x, y) in drawn["data"].items():
        assert min(y) == inside[column].min() and max(y) == inside[column].max()
        rows = set(zip(inside["Time [s]"].to_list(), inside[column].to_list(), strict=True))
        assert set(zip(x, y, strict=True)) <= rows
    page.get_by_test_id("zoom-reset").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=timeseries-plot]').dataset.refineSource"
        " === 'overview'"
    )
    page.screenshot(path=shots / "zoomed.png")
    assert page.errors == []


def test_sql_matches_polars_and_a_bad_query_says_why(
    page: Any, live_server: ServerProcess, shots: Path
) -> None:
    measurement_id = open_march_series(page, live_server)
    query = (
        'select "Cycle count", "Discharge capacity [A.h]", "Coulombic efficiency" from cycles '
        'where "Cycle count" >= 1 order by "Cycle count" desc'
    )
    page.get_by_test_id("sql-input").fill(query)
    page.get_by_test_id("sql-run").click()
    table = page.get_by_test_id("sql-table")
    table.wait_for()
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    expected = client.cell_measurement.detail(measurement_id).sql(query)
    rows = table.locator("tbody tr")
    assert rows.count() == expected.height
    for i in range(rows.count()):
        cells = [float(t) for t in rows.nth(i).locator("td").all_text_contents()]
        assert cells == pytest.approx(list(expected.row(i)), rel=1e-5)
    assert page.get_by_test_id("sql-result").locator("canvas").count() > 0  # two numeric columns
    page.get_by_test_id("sql-result").screenshot(path=shots / "sql.png")

    page.get_by_test_id("sql-input").fill("select no_such_column from cycles")
    page.get_by_test_id("sql-run").click()
    error = page.get_by_test_id("error-message")
    error.wait_for()
    assert "no_such_column" in (error.text_content() or "")
    assert "Traceback" not in (error.text_content() or "")
    page.get_by_test_id("sql-input").fill("delete from cycles")
    page.get_by_test_id("sql-run").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=error-message]').textContent.includes('SELECT')"
    )


def test_a_script_in_a_name_stays_text(
    page: Any, live_server: ServerProcess, unique: str, shots: Path
) -> None:
    name = f"<img src=x onerror=alert(1)> {unique}"
    http = http_client(live_server)
    created = http.post(
        "/cell_specifications", json={"name": name, "notes": "<script>alert(2)</script>"}
    )
    assert created.status_code == 201, created.text
    try:
        login(page, live_server)
        search(page, exact=name)
        row = page.get_by_test_id("spec-row")
        row.wait_for()
        assert row.count() == 1
        assert name in (row.text_content() or "")
        assert page.locator("main img, main script").count() == 0
        row.click()
        page.locator("h2", has_text=unique).wait_for()
        assert page.locator("main img, main script").count() == 0
        page.screenshot(path=shots / "xss.png")
        assert page.dialogs == [] and page.errors == []
    finally:
        http.delete(f"/cell_specifications/{created.json()['id']}")


def test_errors_a_user_can_act_on(
    page: Any, live_server: ServerProcess, unique: str, shots: Path, tmp_path: Path
) -> None:
    login(page, live_server, key="not-a-valid-key-0123456789")
    error = page.get_by_test_id("error-message")
    error.wait_for()
    assert "refused the API key" in (error.text_content() or "")
    assert page.evaluate("() => sessionStorage.length") == 0
    page.screenshot(path=shots / "bad-key.png")

    # A measurement whose processing failed says why.
    http = http_client(live_server)
    spec = http.post("/cell_specifications", json={"name": f"viewer-failed-{unique}"}).json()
    try:
        cell = http.post(
            f"/cell_specifications/{spec['id']}/cell_instances", json={"name": f"c-{unique}"}
        ).json()
        confirmed = upload_time_series(http, cell["id"], f"bad-{unique}", b"not parquet")
        measurement = wait_processed(http, confirmed.json()["id"])
        assert measurement["processing_status"] == "failed"
        login(page, live_server)
        page.get_by_test_id("spec-total").wait_for()
        page.goto(f"{live_server.url}/viewer/#/measurement/{measurement['id']}")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=error-message]')"
            ".textContent.includes('failed processing')"
        )
    finally:
        http.delete(f"/cell_specifications/{spec['id']}")

    # The server going away while the page is open.
    gone = start_server(tmp_path / "gone", "gone-key-0123456789")
    try:
        login(page, gone)
        page.get_by_test_id("spec-total").wait_for()
    finally:
        gone.stop()
    page.get_by_test_id("spec-search-submit").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=error-message]')"
        ".textContent.includes('Cannot reach the server')"
    )
    page.screenshot(path=shots / "server-gone.png")


def test_the_page_is_served_with_a_strict_policy(live_server: ServerProcess) -> None:
    if not (ASSETS_DIR / "index.html").is_file():
        pytest.skip("the viewer is not built: make setup (needs Node.js 20 and npm)")
    page = httpx.get(f"{live_server.url}/viewer/")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy  # wasm-only is ok
    assert "<script>" not in page.text  # no inline script: only <script src=...>
    assert httpx.get(f"{live_server.url}/viewer").status_code == 308
    assert httpx.get(f"{live_server.url}/viewer/..%2Fapp.py").status_code == 404
    assert (
        httpx.get(f"{live_server.url}/viewer/app.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )
