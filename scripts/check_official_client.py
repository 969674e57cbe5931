"""``make compat``: point the official client (ionworks-api 0.38.0) at our local server.

The official client is installed into a scratch virtual environment outside the repository
(never a dependency of this project) and runs the reading-data walkthrough plus an upload against
a local server with demo data. Every line it prints is a check that passed; a failure exits 1.
Then our client reads the same server and must give the same answers for the project-wide list,
tags and ``cell_instance.detail`` (the official one reads only the first page of an instance's
measurements; the demo's instances fit on one).

The server is started with this process's environment: ``make compat-postgres`` sets its
database, ``make compat-s3`` its database and object storage (``scripts/with_s3.py``).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_demo import free_port, start_server, stop, wait_until_ready

OFFICIAL = "ionworks-api==0.38.0"
VENV = Path(
    os.environ.get("IONWORKS_OFFICIAL_VENV", Path(tempfile.gettempdir()) / "ionworks-official")
)

CHECKS = (
    r"""
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
    + r"""
# The reading side of issue 14: project lists, tags, instance detail (compared with ours below).
import json
pid = "proj-demo"
page = c.cell_measurement.list_by_project(pid, limit=10, measurement_type="time_series",
                                          order_by="name")
ids = [m.id for m in page]
assert page.total > 10 and len(ids) == 10, page
print("list_by_project:", page.total, "time series in", pid)
usage = c.cell_measurement.list_tags(pid)
assert usage.total > 0 and usage[0].usage_count >= usage[-1].usage_count, usage
added = c.cell_measurement.add_tags(ids[:3], ["compat-a", "Compat-B"])
removed = c.cell_measurement.remove_tags(ids[:1], ["COMPAT-B"])
assert (added, removed) == (3, 1), (added, removed)
tagged = [m.id for m in c.cell_measurement.list_by_project(pid, tags_all=["compat-a", "compat-b"])]
assert sorted(tagged) == sorted(ids[1:3]), tagged
print("add_tags/remove_tags:", added, removed, "tags_all finds", len(tagged))
searched = [m.id for m in c.cell_measurement.list_by_project(pid, q="compat-b", limit=50)]
after = [(t.tag, t.usage_count) for t in c.cell_measurement.list_tags(pid, q="compat")]
print("list_tags:", after)
instance = instances[0]
detail = c.cell_instance.detail(instance.id)
shapes = {
    m.id: [m.measurement_type.value if hasattr(m.measurement_type, "value") else m.measurement_type,
           None if m.time_series is None else list(m.time_series.shape),
           None if m.steps is None else list(m.steps.shape),
           None if m.cycles is None else list(m.cycles.shape),
           sorted(m.files or {})]
    for m in detail.measurements
}
print("cell_instance.detail:", len(shapes), "measurements of", instance.name)
result = {"ids": ids, "total": page.total, "tagged": tagged,
          "searched": searched, "after": after, "instance": instance.id, "shapes": shapes}
print("RESULT " + json.dumps(result))
"""
)


def agree_with_ours(official: dict[str, Any], url: str, key: str) -> int:
    """Our client reads the same server after the official one: the same answers, or exit 1."""
    import ionworks

    ionworks.set_cache_directory(tempfile.mkdtemp(prefix="ionworks-compat-cache-"))
    with ionworks.Ionworks(api_key=key, api_url=url, project_id="proj-demo") as ours:
        cm = ours.cell_measurement
        page = cm.list_by_project(limit=10, measurement_type="time_series", order_by="name")
        got_tags = [[t.tag, t.usage_count] for t in cm.list_tags(q="compat")]
        detail = ours.cell_instance.detail(official["instance"])
        checks = {
            "list_by_project": ([m.id for m in page], page.total),
            "tags_all": sorted(m.id for m in cm.list_by_project(tags_all=["compat-a", "COMPAT-B"])),
            "q": [m.id for m in cm.list_by_project(q="compat-b", limit=50)],
            "list_tags": got_tags,
            "cell_instance.detail": {m.measurement.id: _shape(m) for m in detail.measurements},
        }
        expected = {
            "list_by_project": (official["ids"], official["total"]),
            "tags_all": sorted(official["tagged"]),
            "q": official["searched"],
            "list_tags": official["after"],
            "cell_instance.detail": official["shapes"],
        }
        failed = [name for name in checks if checks[name] != expected[name]]
        for name in checks:
            print(f"ours agrees on {name}" if name not in failed else f"DIFFERS on {name}")
        ids = official["ids"][:3]
        if cm.remove_tags(ids, ["compat-a", "compat-b"]) != 3 or cm.list_tags(q="compat").total:
            failed.append("remove_tags")
        print("ours removes the tags the official client added")
    if failed:
        print(f"our client and the official one disagree on {failed}", file=sys.stderr)
        for name in failed:
            print(f"  {name}: ours {checks.get(name)!r}", file=sys.stderr)
            print(f"  {name}: official {expected.get(name)!r}", file=sys.stderr)
    return 1 if failed else 0


def _shape(m: Any) -> list[Any]:
    """What the comparison looks at in one measurement's detail."""
    return [
        m.measurement.measurement_type,
        None if m.time_series is None else list(m.time_series.shape),
        None if m.steps is None else list(m.steps.shape),
        None if m.cycles is None else list(m.cycles.shape),
        sorted(m.files or {}),
    ]


def main() -> int:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", OFFICIAL], check=True)
    port, key = free_port(), f"compat-{secrets.token_urlsafe(12)}"
    database = os.environ.get("IONWORKS_SERVER_DATABASE_URL", "SQLite in the data dir")
    storage = os.environ.get("IONWORKS_SERVER_STORAGE_URL", "the data dir")
    print(f"server: database {database.split('@')[-1]}, storage {storage}", flush=True)
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
            ran = subprocess.run(
                [str(python), "-c", CHECKS], env=env, cwd=data_dir, capture_output=True, text=True
            )
            lines = ran.stdout.splitlines()
            print("\n".join(line for line in lines if not line.startswith("RESULT ")))
            print(ran.stderr, end="", file=sys.stderr)
            if ran.returncode != 0:
                return ran.returncode
            found = [line for line in lines if line.startswith("RESULT ")]
            official = json.loads(found[-1].removeprefix("RESULT "))
            return agree_with_ours(official, url, key)
        finally:
            stop(server)


if __name__ == "__main__":
    sys.exit(main())
