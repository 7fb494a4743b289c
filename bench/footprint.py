"""What the demo holds and burns once settled, next to floors measured in the same run (issue 22, item 7).

1. Starts the demo exactly as ``./gaby run`` does (``python -m gaby_site.launcher run``: embedded PostgreSQL and
   Redis, migrations, the demo seed, web, Celery worker, beat, the IMAP IDLE listener, the demo mail server, the
   Graph and NinjaOne stand-ins) on a throw-away data directory (or ``--data-dir``) and free ports; waits for
   ``/ready`` 200 and for every demo knowledge source's first sync to end (``ok`` or ``failed`` in each client schema).
2. Prints resident memory per process (RSS, and PSS from /proc/<pid>/smaps_rollup: shared pages split among
   the processes sharing them, so PSS adds up) and in total, and which processes mapped onnxruntime; then CPU
   seconds each used over ``--idle-seconds`` (60) of no traffic. Goal: total < 2.5 GB, idle CPU ≈ 0.
   Floors: a bare interpreter, a bare ``django.setup()`` of Gaby's settings, PostgreSQL + Redis fresh and empty.
3. Stops the demo, then on another throw-away data directory: ``--schemas`` (100) fresh client schemas migrated
   the ``gaby upgrade`` way (goal < 60 s) and tenant routing per request (goal < 2 ms) — bench/_footprint_tenancy.py.

    .venv/bin/python bench/footprint.py [--idle-seconds 60] [--schemas 100] [--data-dir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _procs
from bench._server import ROOT, free_port

GOAL_TOTAL_MB = 2500
GOAL_SCHEMAS_S = 60
GOAL_ROUTING_MS = 2.0


def role_of(command: list[str]) -> str:
    """Which of ``./gaby run``'s processes a command line is."""
    line = " ".join(command)
    if "gaby_site.launcher" in line:
        return "launcher"
    if "gaby_site.serve" in line:
        return "web"
    if "celery" in line and " worker" in line:
        return "worker"
    if "celery" in line and " beat" in line:
        return "beat"
    if "listen-email" in line:
        return "mail-listener"
    if "demo_mail_server" in line:
        return "demo mail server"
    if "demo_standins_server" in line:
        return "demo stand-in"
    if "redis-server" in line:
        return "redis"
    if command and ("postgres" in command[0] or line.startswith("postgres:")):
        return "postgres"
    return command[0].rsplit("/", 1)[-1] if command else "?"


def demo_processes(launcher_pid: int, data_dir: Path) -> list[tuple[int, str]]:
    """The launcher and everything below it, plus the embedded PostgreSQL and Redis (started detached)."""
    tree = _procs.children_by_parent()
    found: dict[int, str] = {}
    for pid in [launcher_pid, *_procs.descendants(launcher_pid, tree)]:
        role = role_of(_procs.command_line(pid))
        parent_role = found.get(_procs.parent_of(pid) or -1)
        if parent_role in {"worker", "web"} and role == parent_role:
            role = f"{role} child"  # a Celery pool child, a uvicorn worker process
        found[pid] = role
    for pidfile, role in (
        (data_dir / "postgres" / "postmaster.pid", "postgres"),
        (data_dir / "redis" / "redis.pid", "redis"),
    ):
        if pidfile.exists():
            root = int(pidfile.read_text().split()[0])
            for pid in [root, *_procs.descendants(root, tree)]:
                found.setdefault(pid, role)
    return sorted(found.items(), key=lambda item: item[0])


def owner_url(data_dir: Path) -> str:
    return f"postgresql://postgres:@/gaby?host={data_dir / 'postgres'}"


def knowledge_settled(data_dir: Path) -> tuple[bool, str]:
    """Whether every demo client's knowledge sources have finished their first sync, and what they say."""
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(owner_url(data_dir), connect_timeout=3) as conn:
            schemas = [
                row[0] for row in conn.execute("SELECT schema_name FROM tenants_client WHERE schema_name <> 'public'")
            ]
            states: list[str] = []
            for schema in schemas:
                table = sql.Identifier(schema, "knowledge_knowledgesource")
                states += [row[0] for row in conn.execute(sql.SQL("SELECT status FROM {}").format(table))]
    except psycopg.Error as exc:
        return False, f"database not ready ({exc.__class__.__name__})"
    done = bool(states) and all(state in {"ok", "failed"} for state in states)
    return done, f"{len(states)} knowledge sources: {', '.join(sorted(states)) or 'none yet'}"


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def floor_python(code: str, env: dict[str, str]) -> tuple[int, int | None]:
    """RSS and PSS (kB) of a python process that runs ``code``, read by that process once it is done."""
    probe = (
        f"{code}\nfrom bench import _procs; import os, json; "
        "print(json.dumps([_procs.rss_kb(os.getpid()), _procs.pss_kb(os.getpid())]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    rss, pss = json.loads(out.stdout.strip().splitlines()[-1])
    return rss, pss


def mb(kb: float | None) -> str:
    return "     -" if kb is None else f"{kb / 1024:6.0f}"


def measure_demo(data_dir: Path, idle_seconds: float, settle_timeout: float) -> dict[str, object]:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "GABY_DB_OWNER_URL", "PROMETHEUS_MULTIPROC_DIR"}
    }
    env |= {
        "GABY_DATA_DIR": str(data_dir),
        "GABY_PORT": str(port),
        "GABY_DEMO_MAIL_IMAP_PORT": str(free_port()),
        "GABY_DEMO_MAIL_SMTP_PORT": str(free_port()),
        "GABY_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "gaby_site.settings",
    }
    log = open(data_dir.parent / f"{data_dir.name}-launcher.log", "wb")  # noqa: SIM115 (closed in finally)
    started = time.monotonic()
    launcher = subprocess.Popen(
        [sys.executable, "-m", "gaby_site.launcher", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = started + settle_timeout
        while not _ready(f"http://127.0.0.1:{port}/ready"):
            if launcher.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"The demo did not become ready; see {log.name}.")
            time.sleep(0.5)
        ready_s = time.monotonic() - started
        while True:
            done, what = knowledge_settled(data_dir)
            if done:
                break
            if launcher.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"The demo's first knowledge sync did not end in {settle_timeout:.0f} s ({what}); see {log.name}."
                )
            time.sleep(1)
        settled_s = time.monotonic() - started
        time.sleep(5)  # let the worker child that embedded go back to waiting
        before = {pid: _procs.sample(pid, role) for pid, role in demo_processes(launcher.pid, data_dir)}
        time.sleep(idle_seconds)
        # Memory as the idle window ends: what a settled, idle install holds.
        after = {pid: _procs.sample(pid, role) for pid, role in demo_processes(launcher.pid, data_dir)}
        return {"ready_s": ready_s, "settled_s": settled_s, "knowledge": what, "before": before, "after": after}
    finally:
        launcher.send_signal(signal.SIGINT)
        try:
            launcher.wait(timeout=60)
        except subprocess.TimeoutExpired:
            launcher.kill()
        log.close()


def report_demo(result: dict[str, object], idle_seconds: float) -> None:
    before: dict[int, _procs.Sample | None] = result["before"]  # type: ignore[assignment]
    after: dict[int, _procs.Sample | None] = result["after"]  # type: ignore[assignment]
    print(
        f"Demo ready (/ready 200) in {result['ready_s']:.1f} s; first knowledge sync done in "
        f"{result['settled_s']:.1f} s ({result['knowledge']})."
    )
    print()
    print(f"Resident memory (MB) as {idle_seconds:.0f} s of no traffic end, and CPU seconds used over them")
    print(f"  {'process':<20} {'pid':>7} {'RSS':>6} {'PSS':>6}  onnxruntime  {'idle CPU s':>10}")
    by_role: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0])
    for pid, last in sorted(after.items(), key=lambda item: (item[1].role if item[1] else "", item[0])):
        if last is None:
            continue
        first = before.get(pid)
        cpu = last.cpu_s - (first.cpu_s if first else 0.0)  # a process born in the window: all it used
        onnx = "yes" if last.onnxruntime else "no"
        born = "" if first else "  (started during the window)"
        print(f"  {last.role:<20} {pid:>7} {mb(last.rss_kb)} {mb(last.pss_kb)}  {onnx:<11}  {cpu:10.2f}{born}")
        totals = by_role[last.role]
        totals[0] += last.rss_kb
        totals[1] += last.pss_kb or 0
        totals[2] += cpu
        totals[3] += 1
    gone = [s.role for pid, s in before.items() if s is not None and pid not in after]
    if gone:
        print(f"  ended during the window: {', '.join(gone)}")
    print()
    print(f"  {'by role':<20} {'count':>7} {'RSS':>6} {'PSS':>6}  {'idle CPU s':>10}  {'of a core':>10}")
    for role, (rss, pss, cpu, count) in sorted(by_role.items()):
        print(f"  {role:<20} {count:>7.0f} {mb(rss)} {mb(pss)}  {cpu:10.2f}  {100 * cpu / idle_seconds:9.2f}%")
    rss_total, pss_total, cpu_total, count_total = (sum(v[i] for v in by_role.values()) for i in range(4))
    share = 100 * cpu_total / idle_seconds
    print(f"  {'TOTAL':<20} {count_total:>7.0f} {mb(rss_total)} {mb(pss_total)}  {cpu_total:10.2f}  {share:9.2f}%")
    rss_met = "met" if rss_total / 1024 < GOAL_TOTAL_MB else "NOT met"
    pss_met = "met" if pss_total / 1024 < GOAL_TOTAL_MB else "NOT met"
    print(f"  goal: total < {GOAL_TOTAL_MB} MB -> by RSS {rss_met}, by PSS {pss_met}")
    print(f"  goal: idle CPU ≈ 0 -> {share:.2f}% of one core over {idle_seconds:.0f} s")


def report_floors(env: dict[str, str], tenancy: dict[str, dict[str, float]]) -> None:
    bare = floor_python("import sys", env)
    # Settings only read their URLs (nothing connects during setup): any well-formed ones do.
    django_env = env | {
        "GABY_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "gaby_site.settings",
        "DATABASE_URL": "postgresql://floor@/gaby?host=/nonexistent",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    django = floor_python("import django; django.setup()", django_env)
    services = tenancy["services_floor"]
    print()
    print("Floors (same run, MB)                  RSS    PSS")
    print(f"  bare python interpreter            {mb(bare[0])} {mb(bare[1])}")
    print(f"  python + django.setup() (Gaby)     {mb(django[0])} {mb(django[1])}")
    print(
        f"  PostgreSQL + Redis, fresh, empty   {mb(services['rss_kb'])} {mb(services['pss_kb'])}"
        f"   ({services['processes']:.0f} processes)"
    )


def report_tenancy(tenancy: dict[str, dict[str, float]]) -> None:
    m, r = tenancy["migrations"], tenancy["routing"]
    per_hundred = m["migrate_s"] * 100 / m["schemas"]
    print()
    print(
        f"Client schemas: {m['schemas']:.0f} fresh ones ({m['migrations_per_schema']:.0f} migrations, "
        f"{m['tables_per_schema']:.0f} tables each)"
    )
    print(
        f"  gaby upgrade's migration step        {m['migrate_s']:7.1f} s  ({m['migrate_s'] / m['schemas']:.2f} s per "
        f"schema, {per_hundred:.0f} s for 100)   goal: 100 in < {GOAL_SCHEMAS_S} s -> "
        f"{'met' if per_hundred < GOAL_SCHEMAS_S else 'NOT met'}"
    )
    print(
        f"    ({m.get('copied_from_template', 0):.0f} empty schemas copied from the template schema, then migrated; "
        f"{m['processes']:.0f} processes at once)"
    )
    if m.get("serial_schemas"):
        count = m["serial_schemas"]
        for key, how in (("serial_s", "one process"), ("pool_s", f"{m['processes']:.0f} processes")):
            print(
                f"  Django's migrations alone, {how:<11} {m[key]:6.1f} s  ({m[key] / count:.2f} s per schema, "
                f"{m[key] * 100 / count:.0f} s for 100; {count:.0f} other schemas)"
            )
    print(f"  the same again (nothing to apply)    {m['rerun_s']:7.1f} s")
    print(
        f"  floor: the same tables by SQL alone  {m['floor_ddl_s']:7.1f} s  (CREATE TABLE ... LIKE ... INCLUDING ALL)"
    )
    print()
    print(f"Tenant routing: {r['requests']:.0f} requests cycling over {r['hosts']:.0f} client hosts (ms, p50 / p95)")
    met = "met" if r["routing_p95_ms"] < GOAL_ROUTING_MS else "NOT met"
    print(
        f"  TenantMainMiddleware (host -> client) {r['routing_p50_ms']:6.3f} / {r['routing_p95_ms']:6.3f}"
        f"   goal: < {GOAL_ROUTING_MS} ms -> {met} (at p95)"
    )
    print(f"  whole middleware stack, GET /         {r['whole_p50_ms']:6.3f} / {r['whole_p95_ms']:6.3f}")
    print(f"  floor: trivial view, no middleware    {r['floor_p50_ms']:6.3f} / {r['floor_p95_ms']:6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="The demo's data directory (default: a throw-away one).")
    parser.add_argument("--idle-seconds", type=float, default=60)
    parser.add_argument("--schemas", type=int, default=100, help="Fresh client schemas to migrate (default 100).")
    parser.add_argument("--requests", type=int, default=2000, help="Requests for the routing figure.")
    parser.add_argument("--settle-timeout", type=float, default=600, help="Longest wait for the demo to settle.")
    parser.add_argument("--keep", action="store_true", help="Keep the throw-away directories (logs, databases).")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="gaby-footprint-"))
    data_dir = (args.data_dir or scratch / "demo").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    print(f"Data: {data_dir} (launcher log beside it); scratch database for schemas: {scratch / 'tenancy'}", flush=True)
    try:
        demo = measure_demo(data_dir, args.idle_seconds, args.settle_timeout)
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "GABY_DB_OWNER_URL"}}
        out = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "_footprint_tenancy.py"),
                "--data-dir",
                str(scratch / "tenancy"),
                "--schemas",
                str(args.schemas),
                "--requests",
                str(args.requests),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if out.returncode != 0:
            raise SystemExit(f"The tenancy measurements failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
        tenancy = json.loads(out.stdout.strip().splitlines()[-1])
        print()
        report_demo(demo, args.idle_seconds)
        report_floors(env, tenancy)
        report_tenancy(tenancy)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
