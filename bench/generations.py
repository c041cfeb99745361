"""Benchmark: many concurrent generations through the real pipeline, and the history
fragment's cost on a big table. Not a test: run on demand, results go to a file.

    .venv/bin/python bench/generations.py                 # 200 jobs, 2 workers, SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1/bench REDIS_URL=redis://127.0.0.1/14 \
        .venv/bin/python bench/generations.py --jobs 200

Part 1 presses Generate `--jobs` times (through the studio view), with one
`manage.py qcluster` of 2 workers and `manage.py simulate_evolink` in their own
processes, at the default polling cadence. Task durations are spread uniformly over
`--task-seconds` (real jobs vary; identical durations would make every job finish in
the same instant). It reports completions, upstream requests per job, and the time from
the upstream finishing a task to its images being visible in the history fragment,
as a person's browser would poll it (every page of the history fragment, re-read
every 0.5 s). Target: median ≤ 3 s.

Part 2 fills the table with 10,000 jobs and measures the history fragment's render
time and SQL query count, next to the same with 100 jobs. Target: the query count does
not depend on the history's size.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--task-seconds", type=float, nargs=2, default=(8.0, 40.0), metavar=("MIN", "MAX")
    )
    parser.add_argument("--history-rows", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--out",
        default=str(ROOT / "bench" / "results" / time.strftime("generations-%Y%m%d-%H%M%S.json")),
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-playground-"))
    os.environ.setdefault("PLAYGROUND_VAR_DIR", str(workdir))
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"

    import django

    django.setup()
    import random

    import httpx
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from playground.generations.models import Generation, ResultImage, State
    from tests.fixtures_simulator import free_port

    call_command("migrate", verbosity=0)
    from django_q.brokers import get_broker

    get_broker().purge_queue()
    Generation.objects.all().delete()

    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    simulator = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "simulate_evolink", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            httpx.get(f"{sim_url}/_simulator/stats", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    spread = random.Random(42)
    low, high = args.task_seconds
    httpx.post(
        f"{sim_url}/_simulator/faults",
        timeout=10,
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
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    results: dict[str, object] = {
        "jobs": args.jobs,
        "workers": args.workers,
        "task_seconds": list(args.task_seconds),
        "database": connection.vendor,
        "broker": "redis" if os.getenv("REDIS_URL") else "orm",
    }
    try:
        user, _ = User.objects.get_or_create(username="bench")
        browser = Client()
        browser.force_login(user)
        started = time.monotonic()
        for i in range(args.jobs):
            browser.post(
                "/",
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
        results["submit_seconds"] = round(time.monotonic() - started, 2)

        visible: dict[int, float] = {}  # wall-clock instant each job showed its images
        pattern = re.compile(r'id="generation-(\d+)" data-state="completed"')
        deadline = time.monotonic() + args.timeout
        while len(visible) < args.jobs and time.monotonic() < deadline:
            url = "/t/a/history/"
            while url:  # every page, as a browser scrolled through them would see
                html = browser.get(url).content.decode()
                now = time.time()
                for pk in pattern.findall(html):
                    visible.setdefault(int(pk), now)
                older = re.search(r'href="/\?before=(\d+)"', html)
                url = f"/t/a/history/?before={older.group(1)}" if older else ""
            if not Generation.objects.in_flight().exists():
                break  # everything ended (failures are counted below)
            time.sleep(0.5)
        results["wall_seconds"] = round(time.monotonic() - started, 2)

        rows = list(Generation.objects.values_list("pk", "state", "upstream_task_id"))
        # Where the time goes: wall-clock stamps of each job's row.
        stamps = {
            pk: (done.timestamp() if done else None, finished.timestamp() if finished else None)
            for pk, done, finished in Generation.objects.values_list(
                "pk", "upstream_completed_at", "finished_at"
            )
        }
        states: dict[str, int] = {}
        for _pk, state, _task in rows:
            states[state] = states.get(state, 0) + 1
        results["states"] = states
        results["completions"] = states.get(State.COMPLETED, 0)
        stats = httpx.get(f"{sim_url}/_simulator/stats", timeout=10).json()
        upstream_requests = sum(
            count for route, count in stats["requests"].items() if "/v1/" in route
        )
        results["upstream_requests"] = stats["requests"]
        results["upstream_requests_per_job"] = round(upstream_requests / args.jobs, 2)
        results["creates_per_job"] = round(
            stats["requests"].get("POST /v1/images/generations", 0) / args.jobs, 3
        )

        # When the upstream finished each task, by the simulator's own clock (wall time).
        finished = {t["id"]: t["finished_at"] for t in stats["tasks"] if t["finished_at"]}
        lags = [
            visible[pk] - finished[task]
            for pk, state, task in rows
            if pk in visible and task in finished
        ]
        if lags:
            results["completion_to_visible_seconds"] = {
                "count": len(lags),
                "median": round(statistics.median(lags), 3),
                "p95": round(percentile(lags, 0.95), 3),
                "max": round(max(lags), 3),
                "target_median": 3.0,
            }
            detect, archive = [], []
            for pk, _state, task in rows:
                seen, saved = stamps.get(pk, (None, None))
                if task in finished and seen is not None and saved is not None:
                    detect.append(seen - finished[task])
                    archive.append(saved - seen)
            results["breakdown_median_seconds"] = {
                "upstream_done_to_detected": round(statistics.median(detect), 3),
                "detected_to_archived": round(statistics.median(archive), 3),
            }
    finally:
        cluster.terminate()
        try:
            cluster.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, 9)
        simulator.terminate()
        simulator.wait(timeout=15)

    # Part 2: the history fragment against a big table.
    def measure(rows: int) -> dict[str, float]:
        owner, _ = User.objects.get_or_create(username=f"history-{rows}")
        payload = {"model": "gpt-image-2", "prompt": "x", "size": "auto", "quality": "low", "n": 1}
        batch = [
            Generation(
                owner=owner,
                model="gpt-image-2",
                prompt=f"history row {i}",
                size="auto",
                quality="low",
                state=State.COMPLETED,
                request_payload=payload,
            )
            for i in range(rows)
        ]
        created = Generation.objects.bulk_create(batch, batch_size=1000)
        if created and created[0].pk is None:
            created = list(Generation.objects.filter(owner=owner))
        ResultImage.objects.bulk_create(
            [
                ResultImage(
                    generation=g,
                    index=0,
                    file="x.png",
                    thumbnail="x.webp",
                    format="PNG",
                    width=1,
                    height=1,
                    bytes=1,
                )
                for g in created
            ],
            batch_size=1000,
        )
        client = Client()
        client.force_login(owner)
        client.get("/t/a/history/")  # warm up
        timings = []
        for _ in range(30):
            with CaptureQueriesContext(connection) as ctx:
                t0 = time.perf_counter()
                assert client.get("/t/a/history/").status_code == 200
                timings.append(time.perf_counter() - t0)
        return {
            "rows": rows,
            "queries": len(ctx.captured_queries),
            "median_ms": round(statistics.median(timings) * 1000, 2),
            "p95_ms": round(percentile(timings, 0.95) * 1000, 2),
        }

    small, big = measure(100), measure(args.history_rows)
    results["history_fragment"] = {
        "small": small,
        "big": big,
        "query_count_independent_of_size": small["queries"] == big["queries"],
    }

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
