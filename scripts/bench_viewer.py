"""``make bench-viewer``: the browser viewer on a 1M-row measurement, in headless chromium.

Starts ``ionworks serve --demo --demo-rows 1000000`` on loopback (or uses ``--url``/``--key``),
then, in Debian's chromium driven by Playwright, repeats (median of ``--repeats``, default 7, each
in a fresh browser context, so nothing is cached between them):

* **first paint**: from the click on the measurement's row to the frame that shows the plot
  (the page's own ``performance.now()``, through the server's decimated overview);
* **zoom refine**: a drag across 8 % of the time axis, from the mouse-up to the frame that shows
  the refined window, read by HTTP range requests from the signed parquet URL;
* **bytes moved** by that zoom (parquet footer + the window's row group, plotted columns only)
  against the size of the whole file; and a second zoom inside the same window (cached, 0 bytes).

Targets (issue 15): first paint < 1 s, zoom refine < 300 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from run_demo import free_port, start_server, stop, wait_until_ready  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROWS = 1_000_000
PLOT = "[data-testid=timeseries-plot]"


def find_long_run(url: str, key: str) -> tuple[str, str]:
    """(instance id, measurement id) of the long-run series."""
    http = httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60)
    spec = http.get("/cell_specifications", params={"name": "eq.NCM622/Graphite Coin Cell"})
    for cell in http.get(
        f"/cell_specifications/{spec.json()['items'][0]['id']}/cell_instances"
    ).json()["items"]:
        for m in http.get(
            f"/cell_instances/{cell['id']}/cell_measurements",
            params={"name": f"eq.long-run-{ROWS}"},
        ).json()["items"]:
            return cell["id"], m["id"]
    raise SystemExit(f"no long-run-{ROWS} measurement on {url}; start the server with --demo-rows")


def drag(page: Any, start: float, end: float) -> None:
    """Drag across the first panel from ``start`` to ``end`` (fractions of its width)."""
    box = page.locator(f"{PLOT} .u-over").first.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * (start + end) / 2, y)
    page.mouse.move(box["x"] + box["width"] * end, y)
    page.mouse.up()


def refines(page: Any, count: int) -> dict[str, str]:
    page.wait_for_function(
        f"() => Number(document.querySelector('{PLOT}').dataset.refines) >= {count}"
    )
    return dict(page.locator(PLOT).evaluate("el => ({...el.dataset})"))


def one_run(
    browser: Any, url: str, key: str, instance_id: str, measurement_id: str
) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{url}/viewer/")
    page.get_by_test_id("login-key").fill(key)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("spec-total").wait_for()
    page.goto(f"{url}/viewer/#/instance/{instance_id}?type=time_series")
    page.get_by_test_id("measurement-row").filter(has_text=f"long-run-{ROWS}").click()
    page.locator(f"{PLOT}[data-ready='1']").wait_for()
    paint_ms = float(page.locator(PLOT).get_attribute("data-paint-ms") or "nan")
    drag(page, 0.46, 0.54)
    first = refines(page, 1)
    drag(page, 0.3, 0.7)
    second = refines(page, 2)
    size = int(
        page.evaluate(
            """async () => (await fetch(document.querySelector('[data-testid=download-time_series]')
                .getAttribute('href'), {method: 'HEAD'})).headers.get('content-length')"""
        )
    )
    context.close()
    assert measurement_id in page.url
    return {
        "paint_ms": paint_ms,
        "zoom_ms": float(first["refineMs"]),
        "zoom_read_ms": float(first["refineReadMs"]),
        "zoom_source": first["refineSource"],
        "zoom_bytes": int(first["rangeBytes"]),
        "second_zoom_ms": float(second["refineMs"]),
        "second_zoom_bytes": int(second["rangeBytes"]) - int(first["rangeBytes"]),
        "file_bytes": size,
    }


def run(url: str, key: str, repeats: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    instance_id, measurement_id = find_long_run(url, key)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            one_run(browser, url, key, instance_id, measurement_id)  # warm-up (server caches)
            runs = [one_run(browser, url, key, instance_id, measurement_id) for _ in range(repeats)]
        finally:
            browser.close()
    median = {
        k: statistics.median(r[k] for r in runs)
        for k in ("paint_ms", "zoom_ms", "zoom_read_ms", "second_zoom_ms")
    }
    return {"runs": runs, "median": median}


def report(result: dict[str, Any]) -> bool:
    runs, median = result["runs"], result["median"]
    last = runs[-1]
    print(f"viewer on a {ROWS:,}-row measurement, {len(runs)} runs (median, min-max):")
    for key, label, target in (
        ("paint_ms", "first paint (click -> plot drawn)", 1000),
        ("zoom_ms", "zoom refine, 8 % window by range reads", 300),
        ("zoom_read_ms", "  of which reading + decimating the window", 300),
        ("second_zoom_ms", "second zoom inside the read row group", 300),
    ):
        values = [r[key] for r in runs]
        verdict = "ok" if median[key] < target else "OVER TARGET"
        print(
            f"  {label:44s} {median[key]:7.1f} ms  ({min(values):.1f}-{max(values):.1f})"
            f"  target < {target} ms: {verdict}"
        )
    print(
        f"  bytes moved by the zoom: {last['zoom_bytes']:,} of a {last['file_bytes']:,}-byte file"
        f" ({last['zoom_bytes'] / last['file_bytes']:.1%}; source: {last['zoom_source']});"
        f" second zoom: {last['second_zoom_bytes']:,} bytes"
    )
    return median["paint_ms"] < 1000 and median["zoom_ms"] < 300


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", help="a running server with long-run-1000000 (else one is started)"
    )
    parser.add_argument("--key", default="bench-viewer-key-0123456789")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the runs here")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print("chromium is not installed: apt-get install chromium", file=sys.stderr)
        return 2
    if args.url:
        result = run(args.url, args.key, args.repeats)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-viewer-") as tmp:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            server = start_server(port, args.key, f"{tmp}/data", "--demo", "--demo-rows", str(ROWS))
            try:
                wait_until_ready(url, server, timeout=600)
                result = run(url, args.key, args.repeats)
            finally:
                stop(server)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if report(result) else 1


if __name__ == "__main__":
    sys.exit(main())
