"""``make compat``: point the official client (ionworks-api 0.38.0) at our local server.

The official client is installed into a scratch virtual environment outside the repository
(never a dependency of this project) and runs the reading-data walkthrough plus an upload against
a local server with demo data. Every line it prints is a check that passed; a failure exits 1.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_demo import free_port, start_server, stop, wait_until_ready

OFFICIAL = "ionworks-api==0.38.0"
VENV = Path(
    os.environ.get("IONWORKS_OFFICIAL_VENV", Path(tempfile.gettempdir()) / "ionworks-official")
)

CHECKS = r"""
import tempfile
import ionworks
from ionworks import Ionworks

ionworks.set_cache_directory(tempfile.mkdtemp())
c = Ionworks()
specs = c.cell_spec.list(name="graphite", limit=5)
assert specs.total > 5 and len(specs) == 5, specs
print("list with ilike filter:", specs.total)
exact = c.cell_spec.list(name_exact="NCM622/Graphite Coin Cell")
assert [s.name for s in exact] == ["NCM622/Graphite Coin Cell"]
full = c.cell_spec.get(exact[0].id)
print("get spec, capacity:", full.ratings["capacity"])
instances = c.cell_instance.list(exact[0].id, name="batch-A")
march = c.cell_measurement.list(instances[0].id, measurement_type="time_series",
                                started_after="2026-03-01T00:00:00Z")
print("instances:", [i.name for i in instances], "measurements started since March:", march.total)
d = c.cell_measurement.detail(march[0].id)
print("detail:", d.time_series.shape, d.steps.shape, d.cycles.shape)
sc = c.cell_measurement.steps_and_cycles(march[0].id)
assert sc.steps.shape == d.steps.shape and sc.cycles.shape == d.cycles.shape
window = c.cell_measurement.time_series(march[0].id, row_range=(10, 20), use_cache=False)
assert window.height == 10
print("windowed read through HTTP ranges:", window.shape)
ts = d.time_series.head(3000)
bundle = c.cell_measurement.create(instances[0].id, {"measurement": {"name": "official-upload"},
                                                     "time_series": ts})
back = c.cell_measurement.time_series(bundle.id, use_cache=False).select(ts.columns)
assert back.equals(ts)
print("upload flow round trip:", bundle.id, c.cell_measurement.get(bundle.id).processing_status)
assert c.cell_spec.create_or_get({"name": "NCM622/Graphite Coin Cell"}).id == exact[0].id
print("create_or_get resolves the 409 through detail.existing_id")
c.cell_measurement.delete(bundle.id)
print("health:", c.health_check())
"""


def main() -> int:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", OFFICIAL], check=True)
    port, key = free_port(), f"compat-{secrets.token_urlsafe(12)}"
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="ionworks-compat-") as data_dir:
        server = start_server(port, key, data_dir, "--demo")
        try:
            wait_until_ready(url, server, timeout=120)
            env = {
                **os.environ,
                "IONWORKS_API_URL": url,
                "IONWORKS_API_KEY": key,
                "IONWORKS_PROJECT_ID": "proj-demo",
            }
            return subprocess.run([str(python), "-c", CHECKS], env=env, cwd=data_dir).returncode
        finally:
            stop(server)


if __name__ == "__main__":
    sys.exit(main())
