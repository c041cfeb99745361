"""Chaos benchmark: 200 jobs while the worker cluster is SIGKILLed at random and restarted.

A benchmark, not a test: it starts the simulator and a real `manage.py qcluster`, with
faults on creates (503 before anything is created, 429) and on reads (503, dropped
connections), SIGKILLs the whole cluster (process group) `--kills` times at random and
restarts it, then waits for every job to end. Every `--fanout-every`th job is a GPT
Image 1.5 job of 2-4 images, sent as one upstream task of n=1 per image. It writes, as
JSON in bench/results/: completed / failed / uncertain / stuck, upstream tasks per
requested task (a job, or a part of a split job, never has two), tasks per
Idempotency-Key, and each recovery time (kill → polling again, restart → polling again).

With `--create-seconds 2` the simulator answers every create 2 s after it arrived (a slow
upstream, as in bench/fairness.py): the creates of the 200 jobs then drain for minutes, so
the kills land in the middle of the drain, some with creates sent and not yet answered
(each recovery says how many: `creates_unanswered_at_kill`, and how far the drain was).
It must still end with one upstream task per requested task and nothing stuck.

    .venv/bin/python bench/chaos.py [--jobs 200] [--kills 6]
    .venv/bin/python bench/chaos.py --create-seconds 2
    DATABASE_URL=postgres://… REDIS_URL=redis://… .venv/bin/python bench/chaos.py
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--gap", type=float, nargs=2, default=(8.0, 25.0), metavar=("MIN", "MAX"))
    parser.add_argument("--task-seconds", type=float, nargs=2, default=(5.0, 30.0))
    parser.add_argument(
        "--create-seconds", type=float, default=0.0, help="the simulator answers creates this late"
    )
    parser.add_argument("--timeout", type=float, default=420, help="after the last restart")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--fanout-every", type=int, default=4, help="every Nth job: GPT Image 1.5, 2-4 images"
    )
    parser.add_argument(
        "--out",
        default=str(ROOT / "bench" / "results" / time.strftime("chaos-%Y%m%d-%H%M%S.json")),
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)

    workdir = Path(tempfile.mkdtemp(prefix="bench-chaos-"))
    os.environ.setdefault("PLAYGROUND_VAR_DIR", str(workdir))
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

    import django

    django.setup()
    import httpx
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Sum
    from django_q.brokers import get_broker

    from playground import catalogue
    from playground.generations import jobs
    from playground.generations.models import PART_IN_FLIGHT, Generation, State, UpstreamTask
    from playground.teams.models import Membership, Team
    from tests.factories import make_generation
    from tests.fixtures_simulator import free_port

    call_command("migrate", verbosity=0)
    get_broker().purge_queue()
    Generation.objects.all().delete()

    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    simulator = subprocess.Popen(  # noqa: S603 - our own manage.py
        [
            sys.executable,
            "manage.py",
            "simulate_evolink",
            "--port",
            str(port),
            "--create-seconds",
            f"{args.create_seconds:g}",
        ],
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
    low, high = args.task_seconds
    # What each job asks for: (model, n). Split jobs are one upstream task per image.
    asked = [
        ("gpt-image-1.5", rng.randint(2, 4))
        if args.fanout_every and i % args.fanout_every == args.fanout_every - 1
        else ("gpt-image-2", 1)
        for i in range(args.jobs)
    ]
    requested_tasks = sum(
        catalogue.upstream_tasks_for(catalogue.get_model(model), n) for model, n in asked
    )
    faults = [
        {"fault": "task_slow", "seconds": round(rng.uniform(low, high), 2), "times": 1}
        for _ in range(requested_tasks)
    ]
    faults += [
        {"fault": "create_error", "status": 503, "times": 3},  # nothing created: uncertain
        {"fault": "create_error", "status": 429, "times": 6, "retry_after": 1},  # retried
        {"fault": "read_error", "status": 503, "times": 40},
        {"fault": "read_drop", "times": 10},
    ]
    httpx.post(f"{sim_url}/_simulator/faults", timeout=10, json=faults).raise_for_status()

    env = {
        **os.environ,
        "EVOLINK_BASE_URL": sim_url,
        "EVOLINK_API_KEY": "sk-evo-chaos",
        "Q_WORKERS": str(args.workers),
    }

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def total_polls() -> int:
        whole = Generation.objects.aggregate(n=Sum("polls"))["n"] or 0
        return whole + (UpstreamTask.objects.aggregate(n=Sum("polls"))["n"] or 0)

    results: dict[str, object] = {
        "jobs": args.jobs,
        "kills": args.kills,
        "workers": args.workers,
        "seed": args.seed,
        "database": connection.vendor,
        "broker": "redis" if os.getenv("REDIS_URL") else "orm",
        "poller_lease_seconds": jobs.poller_lease_seconds(),
        "archive_lease_seconds": jobs.ARCHIVE_LEASE.total_seconds(),
    }
    if args.create_seconds:
        # Only when slow: summarise.py files the runs without it under their old variant.
        results["create_seconds"] = args.create_seconds
    team, _ = Team.objects.get_or_create(slug="chaos", defaults={"name": "Chaos"})
    user, _ = User.objects.get_or_create(username="chaos")
    Membership.objects.get_or_create(user=user, team=team)
    started = time.monotonic()
    for i, (model, n) in enumerate(asked):
        size = "1024x640" if model == "gpt-image-2" else "1024x1024"
        generation = make_generation(
            user, team=team, prompt=f"chaos {i}", model=model, n=n, size=size
        )
        jobs.enqueue_submit(generation.pk)
    cluster = start()
    recoveries: list[dict[str, float | None]] = []
    try:
        for _ in range(args.kills):
            time.sleep(rng.uniform(*args.gap))
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait(timeout=10)
            killed = time.monotonic()
            # Creates the simulator had received and not yet answered when the cluster
            # died (a slow create: its task is made after the sender is gone).
            at_kill = httpx.get(f"{sim_url}/_simulator/stats", timeout=10).json()
            unanswered = sum(1 for c in at_kill["creates"] if not c["task_id"])
            running = Generation.objects.filter(state=State.RUNNING).count()
            archiving = Generation.objects.filter(state=State.ARCHIVING).count()
            time.sleep(rng.uniform(0, 2))  # a supervisor's restart delay
            mark = total_polls()
            cluster = start()
            restarted = time.monotonic()
            resumed = None
            while time.monotonic() - restarted < 60:
                if total_polls() > mark:
                    resumed = time.monotonic()
                    break
                if not Generation.objects.filter(state=State.RUNNING).exists():
                    break  # nothing left to poll
                time.sleep(0.05)
            recoveries.append(
                {
                    "running_at_kill": running,
                    "creates_unanswered_at_kill": unanswered,
                    "upstream_tasks_at_kill": at_kill["tasks_created"],
                    "archiving_at_kill": archiving,
                    "restart_delay": round(restarted - killed, 2),
                    "kill_to_polling": None if resumed is None else round(resumed - killed, 2),
                    "restart_to_polling": None
                    if resumed is None
                    else round(resumed - restarted, 2),
                }
            )
            print("recovery", recoveries[-1], flush=True)
        deadline = time.monotonic() + args.timeout
        while Generation.objects.in_flight().exists() and time.monotonic() < deadline:
            time.sleep(1)
        results["wall_seconds"] = round(time.monotonic() - started, 1)
    finally:
        cluster.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            cluster.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(cluster.pid, signal.SIGKILL)
        stats = httpx.get(f"{sim_url}/_simulator/stats", timeout=10).json()
        simulator.terminate()
        simulator.wait(timeout=15)

    states: dict[str, int] = {}
    for state in Generation.objects.values_list("state", flat=True):
        states[state] = states.get(state, 0) + 1
    in_flight = Generation.objects.in_flight().count()
    parts_in_flight = UpstreamTask.objects.filter(state__in=PART_IN_FLIGHT).count()
    known = list(
        Generation.objects.exclude(upstream_task_id="").values_list("upstream_task_id", flat=True)
    ) + list(UpstreamTask.objects.exclude(task_id="").values_list("task_id", flat=True))
    upstream = {t["id"] for t in stats["tasks"]}
    orphans = upstream - set(known)  # created upstream, id never learned (uncertain)
    uncertain = states.get(State.UNCERTAIN, 0)
    uncertain_parts = UpstreamTask.objects.filter(state="uncertain").count()
    tasks_accounted = len(set(known)) + len(orphans)
    # Tasks created per Idempotency-Key: every upstream task has its own key, stored
    # before its POST, so more than one would be a task paid twice.
    per_key: dict[str, int] = {}
    for create in stats["creates"]:
        if create["task_id"]:
            key = create["idempotency_key"] or ""
            per_key[key] = per_key.get(key, 0) + 1
    results.update(
        {
            "states": states,
            "completed": states.get(State.COMPLETED, 0),
            "failed": states.get(State.FAILED, 0) + states.get(State.TIMED_OUT, 0),
            "uncertain": uncertain,
            "stuck": in_flight,
            "parts_stuck": parts_in_flight,
            "split_jobs": sum(catalogue.fans_out(model, n) for model, n in asked),
            "requested_tasks": requested_tasks,
            "split_jobs_partial": Generation.objects.filter(error_code="partial").count(),
            "uncertain_parts": uncertain_parts,
            "upstream_tasks_created": stats["tasks_created"],
            "upstream_creates_received": stats["requests"].get("POST /v1/images/generations", 0),
            "tasks_with_a_known_id": len(set(known)),
            "duplicate_task_ids": len(known) - len(set(known)),
            "orphan_tasks": len(orphans),
            # Every upstream task belongs to one requested task (a whole job, or one part
            # of a split job): a known id, or an uncertain one whose answer was lost (at
            # most one each). 1.0 means nothing was paid twice.
            "upstream_tasks_per_requested_task": round(stats["tasks_created"] / tasks_accounted, 3)
            if tasks_accounted
            else None,
            "max_tasks_per_idempotency_key": max(per_key.values(), default=0),
            "creates_without_idempotency_key": sum(
                1 for c in stats["creates"] if not c["idempotency_key"]
            ),
            "orphans_within_uncertain": len(orphans) <= uncertain + uncertain_parts,
            "recoveries": recoveries,
            "max_restart_to_polling": max(
                (r["restart_to_polling"] or 0 for r in recoveries), default=None
            ),
        }
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
