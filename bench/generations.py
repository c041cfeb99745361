"""Benchmark: many generations through the real pipeline, from the press of Generate to
the images showing in the history. Not a test: run on demand, results go to a file.

    .venv/bin/python bench/generations.py                      # 200 jobs, SQLite + ORM broker
    .venv/bin/python bench/generations.py --callbacks          # EvoLink's callbacks on
    DATABASE_URL=postgres://postgres@127.0.0.1/bench REDIS_URL=redis://127.0.0.1/14 \\
        .venv/bin/python bench/generations.py --jobs 1000 --clusters 2
    .venv/bin/python bench/generations.py --spread bench/results/generations.json

It starts `manage.py simulate_evolink` and `--clusters` × `manage.py qcluster` (each of
`--workers` workers) in their own processes, at the default polling cadence (first read
after 3 s, then every 3 s), then presses Generate `--jobs`
times through the studio view (Django's test client, one after the other, as fast as
it answers). Task durations are spread uniformly over `--task-seconds` (identical ones
would make every job finish in the same instant). With `--callbacks` a gunicorn serves
the callback endpoint and the simulator calls it as each task ends.

Meanwhile it samples the history fragment every 0.1 s (a person's tab asks every 2 s;
the sampling measures when the fragment would show the images): each page that holds
a job whose row has ended and that it has not yet seen rendered (paging with
`?before=`), noting when each job first shows as completed. It reports, per job:

- burst: the first to the last upstream POST (target ≤ 10 s for 200), POSTs per job;
- upstream done → detected (our row sees it complete) → archived (images stored) →
  shown (a fragment rendered them); target: done → shown median ≤ 2 s, p95 ≤ 4 s,
  median ≤ 1 s with callbacks;
- the gaps between two reads of the same task (creation → first read included), over
  the whole run and after the burst (every job submitted: the steady state); target
  p95 ≤ 5 s at 1,000 jobs in flight (`--jobs 1000 --task-seconds 60 120`, so that all
  of them are in flight together once the presses are done);
- the CPU seconds of each cluster (all its processes), and which held the poller.

On PostgreSQL the database must be a scratch one (its name must contain "bench"): it
is created if missing and emptied. `bench/run_all.sh` runs every benchmark three times.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Shared with the other benchmarks: percentiles, the commit measured, a scratch database.
from bench.common import commit, percentile, reset_postgres  # noqa: E402
from bench.summarise import runs_in  # noqa: E402


def summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "count": len(values),
        "median": round(statistics.median(values), 3),
        "p95": round(percentile(values, 0.95), 3),
        "max": round(max(values), 3),
    }


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its children, living and reaped."""
    import psutil

    try:
        root = psutil.Process(pid)
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        return total
    except psutil.Error:
        return 0.0


def tree_pids(pid: int) -> set[int]:
    import psutil

    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        return {pid, *(p.pid for p in root.children(recursive=True))}
    return {pid}


def wait_http(url: str, timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def stop_group(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM, then SIGKILL whatever of its process group is left."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-playground-"))
    os.environ.setdefault("PLAYGROUND_VAR_DIR", str(workdir))
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
    # The documented cadence, whatever the caller's environment says.
    for name in (
        "PLAYGROUND_FIRST_POLL_SECONDS",
        "PLAYGROUND_POLL_SECONDS",
        "PLAYGROUND_POLLER_TICK_SECONDS",
        "EVOLINK_CALLBACKS",
        "PUBLIC_BASE_URL",
    ):
        os.environ.pop(name, None)
    from tests.fixtures_simulator import free_port

    web_port = free_port()
    sim_port = free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    if args.callbacks:
        os.environ["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{web_port}"
        os.environ["EVOLINK_CALLBACKS"] = "on"

    import django

    django.setup()
    from django.conf import settings

    # The studio view runs in this process too: it must see the key that pays, as the
    # worker clusters do (the studio refuses a job no key can pay for). Set here, not in
    # the environment: the settings may already be loaded by the time this runs.
    settings.EVOLINK_BASE_URL = sim_url
    settings.EVOLINK_API_KEY = "sk-evo-bench"
    import httpx
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django_q.brokers import get_broker

    from playground.generations import jobs
    from playground.generations.models import IN_FLIGHT_STATES, Generation, Lease, State
    from playground.teams.models import Membership, Team

    if connection.vendor == "postgresql":
        reset_postgres(force=False)  # created if missing, emptied; "bench" in its name
    call_command("migrate", verbosity=0)
    get_broker().purge_queue()

    load_at_start = [round(x, 2) for x in os.getloadavg()]
    processes: list[subprocess.Popen[bytes]] = []

    def spawn(command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(  # noqa: S603 - our own commands
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        processes.append(process)
        return process

    sim_command = [sys.executable, "manage.py", "simulate_evolink", "--port", str(sim_port)]
    if args.callbacks:
        sim_command.append("--allow-http-callbacks")
    spawn(sim_command)
    wait_http(f"{sim_url}/_simulator/stats")
    spread = random.Random(args.seed)
    low, high = args.task_seconds
    httpx.post(
        f"{sim_url}/_simulator/faults",
        timeout=30,
        json=[
            {"fault": "task_slow", "seconds": round(spread.uniform(low, high), 2), "times": 1}
            for _ in range(args.jobs)
        ],
    ).raise_for_status()
    env = {
        **os.environ,
        "EVOLINK_BASE_URL": sim_url,
        "EVOLINK_API_KEY": "sk-evo-bench",
        "Q_WORKERS": str(args.workers),
    }
    if args.callbacks:
        spawn(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--bind",
                f"127.0.0.1:{web_port}",
                "--workers",
                "2",
                "playground.wsgi",
            ],
            env,
        )
        wait_http(f"http://127.0.0.1:{web_port}/healthz")
    clusters = [spawn([sys.executable, "manage.py", "qcluster"], env) for _ in range(args.clusters)]
    # Let the clusters' workers start (and a poller take the lease) before the burst.
    deadline = time.monotonic() + 30
    while Lease.is_free("poller") and time.monotonic() < deadline:
        time.sleep(0.1)
    cpu_before = [tree_cpu_seconds(c.pid) for c in clusters]

    results: dict[str, Any] = {
        "benchmark": "generations",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_start": load_at_start,
        },
        "commit": commit(),
        "jobs": args.jobs,
        "clusters": args.clusters,
        "workers_per_cluster": args.workers,
        "callbacks": args.callbacks,
        "task_seconds": list(args.task_seconds),
        "database": connection.vendor,
        "broker": "redis" if os.getenv("REDIS_URL") else "orm",
        "cadence_seconds": {
            "first": jobs.first_poll_delay(),
            "then": jobs.poll_interval(1),
        },
    }
    holders: dict[str, float] = {}  # poller lease holder → seconds seen holding it
    try:
        team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
        user, _ = User.objects.get_or_create(username="bench")
        Membership.objects.get_or_create(user=user, team=team, defaults={"role": "admin"})
        browser = Client()
        browser.force_login(user)
        started = time.monotonic()
        for i in range(args.jobs):
            response = browser.post(
                f"/t/{team.slug}/",
                {
                    "model": "gpt-image-2",
                    "prompt": f"benchmark job {i}",
                    "size": "custom",
                    "width": "1024",
                    "height": "640",
                    "quality": "low",
                    "n": "1",
                    "client_token": str(uuid.uuid4()),
                },
            )
            assert response.status_code in (200, 302), response.status_code
        results["presses_seconds"] = round(time.monotonic() - started, 2)
        pks = set(Generation.objects.values_list("pk", flat=True))
        assert len(pks) == args.jobs, len(pks)

        shown: dict[int, float] = {}  # wall-clock instant a fragment first showed it done
        unseen = set(pks)
        card = re.compile(r'id="generation-(\d+)" data-state="(\w+)"')
        base = f"/t/{team.slug}/history/"
        fragments = 0
        deadline = time.monotonic() + args.timeout
        last_lease_check = time.monotonic()
        while unseen and time.monotonic() < deadline:
            ended = set(
                Generation.objects.filter(pk__in=unseen)
                .exclude(state__in=IN_FLIGHT_STATES)
                .values_list("pk", flat=True)
            )
            targets = sorted(ended, reverse=True)
            while targets:
                html = browser.get(f"{base}?before={targets[0] + 1}").content.decode()
                fragments += 1
                now = time.time()
                page = [(int(pk), state) for pk, state in card.findall(html)]
                for pk, state in page:
                    if pk in unseen and state == State.COMPLETED:
                        shown[pk] = now
                    if pk in unseen and state not in IN_FLIGHT_STATES:
                        unseen.discard(pk)
                lowest = min((pk for pk, _ in page), default=0)
                targets = [pk for pk in targets if pk < lowest and pk in unseen]
            clock = time.monotonic()
            holder = Lease.objects.filter(name="poller").values_list("holder", flat=True).first()
            if holder:
                holders[holder] = holders.get(holder, 0) + clock - last_lease_check
            last_lease_check = clock
            time.sleep(0.1)
        results["wall_seconds"] = round(time.monotonic() - started, 2)
        results["fragments_read"] = fragments
        cpu_after = [tree_cpu_seconds(c.pid) for c in clusters]
        cluster_pids = [tree_pids(c.pid) for c in clusters]
    finally:
        stats = httpx.get(f"{sim_url}/_simulator/stats", timeout=30).json()
        for process in reversed(processes):
            stop_group(process)

    rows = list(
        Generation.objects.values_list(
            "pk", "state", "upstream_task_id", "upstream_completed_at", "finished_at"
        )
    )
    states: dict[str, int] = {}
    for _pk, state, *_ in rows:
        states[state] = states.get(state, 0) + 1
    results["states"] = states
    results["upstream_requests"] = stats["requests"]
    creates = stats["requests"].get("POST /v1/images/generations", 0)
    results["posts_per_job"] = round(creates / args.jobs, 3)
    tasks = {t["id"]: t for t in stats["tasks"]}
    created = sorted(t["created_at"] for t in tasks.values())
    results["burst_first_to_last_post_seconds"] = round(created[-1] - created[0], 2)

    done_to = {"detected": [], "archived": [], "shown": []}
    step = {"done_to_detected": [], "detected_to_archived": [], "archived_to_shown": []}
    for pk, _state, task_id, detected, archived in rows:
        task = tasks.get(task_id)
        if not task or not task["finished_at"] or pk not in shown:
            continue
        done = task["finished_at"]
        done_to["detected"].append(detected.timestamp() - done)
        done_to["archived"].append(archived.timestamp() - done)
        done_to["shown"].append(shown[pk] - done)
        step["done_to_detected"].append(detected.timestamp() - done)
        step["detected_to_archived"].append(archived.timestamp() - detected.timestamp())
        step["archived_to_shown"].append(shown[pk] - archived.timestamp())
    results["upstream_done_to"] = {k: summary(v) for k, v in done_to.items()}
    results["breakdown"] = {k: summary(v) for k, v in step.items()}
    target = 1.0 if args.callbacks else 2.0
    shown_summary = results["upstream_done_to"]["shown"] or {"median": None, "p95": None}
    results["targets"] = {
        "shown_median_max": target,
        "shown_p95_max": 4.0,
        "met": shown_summary["median"] is not None
        and shown_summary["median"] <= target
        and shown_summary["p95"] <= 4.0,
    }

    # Jobs in flight at once: at the end of the burst, and at the busiest instant.
    burst_end = created[-1]
    results["in_flight_at_burst_end"] = sum(
        1 for t in tasks.values() if not t["finished_at"] or t["finished_at"] > burst_end
    )
    gaps: list[float] = []
    gaps_after_burst: list[float] = []  # the steady state: every job already submitted
    for task in tasks.values():
        reads = [task["created_at"], *task["reads"]]
        if task["finished_at"]:
            # Reads up to the one that saw it finished; later ones are not polling.
            after = [r for r in task["reads"] if r >= task["finished_at"]]
            reads = [r for r in reads if r < task["finished_at"]] + after[:1]
        for a, b in itertools.pairwise(reads):
            gaps.append(b - a)
            if a >= burst_end:
                gaps_after_burst.append(b - a)
    results["read_gaps_seconds"] = summary(gaps)
    results["read_gaps_after_burst_seconds"] = summary(gaps_after_burst)
    results["read_gaps_target_p95_max"] = 5.0

    lease_pids = {int(h.split(":")[1]): s for h, s in holders.items() if h.count(":") >= 2}
    results["clusters_detail"] = [
        {
            "cpu_seconds": round(after - before, 2),
            "held_the_poller_seconds": round(
                sum(s for pid, s in lease_pids.items() if pid in pids), 1
            ),
        }
        for before, after, pids in zip(cpu_before, cpu_after, cluster_pids, strict=True)
    ]
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


# Figures compared across runs by --spread: (label, path in the result).
SPREAD = [
    ("burst s", ("burst_first_to_last_post_seconds",)),
    ("POSTs/job", ("posts_per_job",)),
    ("done→shown med", ("upstream_done_to", "shown", "median")),
    ("done→shown p95", ("upstream_done_to", "shown", "p95")),
    ("detect med", ("breakdown", "done_to_detected", "median")),
    ("archive med", ("breakdown", "detected_to_archived", "median")),
    ("show med", ("breakdown", "archived_to_shown", "median")),
    ("read gap p95", ("read_gaps_seconds", "p95")),
    ("gap p95 steady", ("read_gaps_after_burst_seconds", "p95")),
    ("in flight", ("in_flight_at_burst_end",)),
]


def spread(paths: list[str]) -> None:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for _label, result in runs_in(paths):
        if result.get("benchmark") != "generations":
            continue
        key = (
            result["database"],
            result["broker"],
            result["jobs"],
            result["clusters"],
            result["callbacks"],
        )
        groups.setdefault(key, []).append(result)
    for key, results in sorted(groups.items(), key=str):
        print(
            f"{key[0]} + {key[1]}, {key[2]} jobs, {key[3]} cluster(s), "
            f"callbacks {'on' if key[4] else 'off'}: {len(results)} run(s)"
        )
        for name, path in SPREAD:
            values = []
            for r in results:
                value: Any = r
                for part in path:
                    value = (value or {}).get(part)
                if value is not None:
                    values.append(value)
            if values:
                print(f"  {name:16} {min(values):g} – {max(values):g}")
        cpu = [c["cpu_seconds"] for r in results for c in r["clusters_detail"]]
        print(f"  {'cluster CPU s':16} {min(cpu):g} – {max(cpu):g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clusters", type=int, default=1)
    parser.add_argument("--callbacks", action="store_true")
    parser.add_argument(
        "--task-seconds", type=float, nargs=2, default=(8.0, 40.0), metavar=("MIN", "MAX")
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--spread", nargs="+", metavar="RESULT")
    parser.add_argument(
        "--out",
        default=str(ROOT / "bench" / "results" / time.strftime("generations-%Y%m%d-%H%M%S.json")),
    )
    args = parser.parse_args()
    if args.spread:
        spread(args.spread)
        return
    results = run(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "upstream_requests"}, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
