"""Benchmark: building a ZIP export of 100, 300 and 1,000 archived images: the time, and
the worker's peak memory, which must not grow with the number of images.

    .venv/bin/python bench/zip_export.py                   # SQLite and local disk in a temp dir
    .venv/bin/python bench/zip_export.py --sizes 100 1000 --kb 300
    .venv/bin/python bench/zip_export.py --spread bench/results/zip-export.json

A team with one member gets as many completed jobs as the largest export needs, inserted
in bulk, each with one archived image: a real JPEG of about `--kb` KB (noise, so it does
not compress), one file per image in the media folder (copies of a few distinct
pictures: the builder reads each file from storage as it would in production). For each
size an export of the newest N images is asked for (the row a POST makes), then built
by `playground.exports.tasks.build` in a fresh worker process (`--build`, this file), as
a django-q2 worker would run it. That process resets its peak-memory mark
(/proc/self/clear_refs) once Django is set up, and reports the time of the build and
its resident memory before and at the peak (VmRSS, VmHWM); the parent also reads the
process's whole-life peak (ru_maxrss from wait4). Then the ZIP is checked: N images
plus manifest.json and manifest.csv, and as many manifest rows.

The page cache is warm after the files are written, as it is for recently archived
images; on S3 the time would be the network's. Target: the build's memory growth
(VmHWM - VmRSS before) about the same at every size, well under 50 MB.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import commit  # noqa: E402
from bench.summarise import runs_in  # noqa: E402

DISTINCT = 16  # distinct pictures; every image still has a file of its own
TARGET_GROWTH_MB = 50


def setup_django(workdir: Path) -> None:
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    os.environ["PLAYGROUND_VAR_DIR"] = str(workdir)
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def memory_kb() -> dict[str, int]:
    status = Path("/proc/self/status").read_text()
    return {
        key: int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1))
        for key in ("VmRSS", "VmHWM")
    }


# --------------------------------------------------------------------------------------
# The worker process: build one export and report


def build_one(pk: int) -> None:
    from django.db import connection

    from playground.exports import tasks
    from playground.exports.models import Export

    Export.objects.filter(pk=pk).exists()  # connect, warm up the ORM
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = memory_kb()
    started = time.perf_counter()
    outcome = tasks.build(pk)
    seconds = time.perf_counter() - started
    after = memory_kb()
    connection.close()
    print(
        json.dumps(
            {
                "outcome": outcome,
                "build_seconds": round(seconds, 3),
                "rss_before_mb": round(before["VmRSS"] / 1024, 1),
                "peak_mb": round(after["VmHWM"] / 1024, 1),
                "growth_mb": round((after["VmHWM"] - before["VmRSS"]) / 1024, 1),
            }
        )
    )


# --------------------------------------------------------------------------------------
# The parent: data, one worker per export, checks


def pictures(kb: int) -> list[bytes]:
    """DISTINCT JPEGs of about `kb` KB each: noise at quality 90 does not compress."""
    from PIL import Image

    side = 64
    while True:
        image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        if buffer.tell() >= kb * 1024:
            break
        side += 16
    made = []
    for _ in range(DISTINCT):
        buffer = io.BytesIO()
        Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
            buffer, "JPEG", quality=90
        )
        made.append(buffer.getvalue())
    return made


def populate(count: int, kb: int) -> dict[str, Any]:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.utils import timezone

    from playground.generations.models import Generation, ResultImage, State
    from playground.teams.models import Membership, Role, Team

    team = Team.objects.create(name="Bench", slug="bench")
    user = User.objects.create_user("bench")
    Membership.objects.create(team=team, user=user, role=Role.MEMBER)
    now = timezone.now()
    jobs = Generation.objects.bulk_create(
        [
            Generation(
                team=team,
                owner=user,
                number=i + 1,
                model="gpt-image-2",
                prompt=f"a lighthouse in the fog, study {i + 1}",
                size="1:1",
                resolution="1K",
                quality="medium",
                n=1,
                state=State.COMPLETED,
                request_payload={"model": "gpt-image-2", "prompt": f"study {i + 1}"},
                estimated_credits="4.00000",
                credits_charged="4.10000",
                created_at=now,
                updated_at=now,
                finished_at=now,
            )
            for i in range(count)
        ],
        batch_size=500,
    )
    if jobs[0].pk is None:
        jobs = list(Generation.objects.filter(team=team).order_by("id"))
    made = pictures(kb)
    media = Path(settings.MEDIA_ROOT)
    rows = []
    for i, job in enumerate(jobs):
        name = f"results/{job.public_id}/0.jpg"
        path = media / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = made[i % DISTINCT]
        path.write_bytes(data)
        rows.append(
            ResultImage(
                generation=job,
                index=0,
                file=name,
                thumbnail=name,
                format="JPEG",
                width=1,
                height=1,
                bytes=len(data),
                created_at=now,
            )
        )
    ResultImage.objects.bulk_create(rows, batch_size=500)
    return {"team": team, "user": user, "image_bytes": [len(p) for p in made]}


def run_size(world: dict[str, Any], size: int, env: dict[str, str]) -> dict[str, Any]:
    from playground.exports.models import Export
    from playground.generations.models import ResultImage

    ids = list(
        ResultImage.objects.filter(generation__team=world["team"])
        .order_by("-generation_id")
        .values_list("pk", flat=True)[:size]
    )
    export = Export.objects.create(
        team=world["team"],
        requested_by=world["user"],
        source="selection",
        description=f"Selection of {size} images",
        image_ids=ids,
        total=len(ids),
    )
    started = time.perf_counter()
    worker = subprocess.Popen(  # noqa: S603 - this file, fixed arguments
        [sys.executable, __file__, "--build", str(export.pk)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    stdout = worker.stdout.read() if worker.stdout else ""
    _pid, status, usage = os.wait4(worker.pid, 0)
    worker.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if worker.returncode != 0:
        sys.exit(f"the build of {size} images failed: {stdout}")
    report = json.loads(stdout.strip().splitlines()[-1])
    export.refresh_from_db()
    with export.file.open("rb") as handle, zipfile.ZipFile(handle) as archive:
        names = archive.namelist()
        rows = len(json.loads(archive.read("manifest.json"))["images"])
        image_bytes = sum(
            i.file_size for i in archive.infolist() if i.filename.startswith("images/")
        )
    assert report["outcome"] == "ready", report
    assert len(names) == size + 2 and rows == size, (len(names), rows)
    zip_mb = export.bytes / 1024 / 1024
    result = {
        "images": size,
        **report,
        "process_seconds": round(wall, 2),
        "process_peak_mb": round(usage.ru_maxrss / 1024, 1),
        "zip_mb": round(zip_mb, 1),
        "image_mb": round(image_bytes / 1024 / 1024, 1),
        "mb_per_second": round(zip_mb / report["build_seconds"], 1),
        "manifest_rows": rows,
    }
    export.file.delete(save=False)  # disk space: a few hundred MB each
    return result


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    setup_django(workdir)
    import django
    from django.core.management import call_command
    from django.db import connection

    load_at_start = [round(x, 2) for x in os.getloadavg()]
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    call_command("migrate", verbosity=0)
    setup_started = time.perf_counter()
    world = populate(max(args.sizes), args.kb)
    setup_seconds = round(time.perf_counter() - setup_started, 1)
    connection.close()
    env = {**os.environ}
    results = []
    for size in args.sizes:
        results.append(run_size(world, size, env))
        print(json.dumps(results[-1]), flush=True)
    growth = [r["growth_mb"] for r in results]
    return {
        "benchmark": "zip export",
        "started": started_at,
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "django": django.get_version(),
            "load_average_at_start": load_at_start,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "commit": commit(),
        "database": connection.vendor,
        "storage": "local disk (FileSystemStorage), page cache warm",
        "data": {
            "jobs": max(args.sizes),
            "image_kb_target": args.kb,
            "image_bytes_distinct": world["image_bytes"],
            "setup_seconds": setup_seconds,
        },
        "runs": results,
        "growth_mb_min_max": [min(growth), max(growth)],
        "target_growth_mb": TARGET_GROWTH_MB,
        # Flat: the largest export grows the worker no more than the smallest (+5 MB of
        # noise) and stays under the target.
        "target_flat_memory": max(growth) <= TARGET_GROWTH_MB
        and results[-1]["growth_mb"] <= results[0]["growth_mb"] + 5,
    }


# --------------------------------------------------------------------------------------
# Reporting

COLUMNS = [
    ("images", "images"),
    ("zip_mb", "ZIP MB"),
    ("build_seconds", "build s"),
    ("mb_per_second", "MB/s"),
    ("rss_before_mb", "RSS before MB"),
    ("peak_mb", "peak MB"),
    ("growth_mb", "growth MB"),
    ("process_peak_mb", "process peak MB"),
]


def print_result(result: dict[str, Any]) -> None:
    print(f"\n{result['database']}, {result['storage']}, commit {result['commit']}")
    print("  ".join(f"{title:>15}" for _key, title in COLUMNS))
    for row in result["runs"]:
        print("  ".join(f"{row[key]:>15g}" for key, _title in COLUMNS))
    print(f"flat memory: {result['target_flat_memory']}")


def spread(paths: list[str]) -> None:
    labelled = list(runs_in(paths))
    results = [result for _label, result in labelled]
    print(f"min–max over {len(results)} runs ({', '.join(label for label, _r in labelled)})")
    print("  ".join(f"{title:>15}" for _key, title in COLUMNS))
    sizes = [row["images"] for row in results[0]["runs"]]
    for i, size in enumerate(sizes):
        cells = [f"{size:>15}"]
        for key, _title in COLUMNS[1:]:
            values = [r["runs"][i][key] for r in results if len(r["runs"]) > i]
            lo, hi = min(values), max(values)
            cells.append(f"{lo:g}".rjust(15) if lo == hi else f"{lo:g}–{hi:g}".rjust(15))
        print("  ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--kb", type=int, default=300, help="size of each image")
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)  # the worker process
    parser.add_argument("--spread", nargs="+", metavar="RESULT")
    parser.add_argument(
        "--out",
        default=str(ROOT / "bench" / "results" / time.strftime("zip-export-%Y%m%d-%H%M%S.json")),
    )
    args = parser.parse_args()
    if args.build is not None:
        setup_django(Path(os.environ["PLAYGROUND_VAR_DIR"]))
        build_one(args.build)
        return
    if args.spread:
        spread(args.spread)
        return
    args.sizes = sorted(args.sizes)
    workdir = Path(tempfile.mkdtemp(prefix="bench-zip-export-"))
    started = time.monotonic()
    try:
        result = run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print_result(result)
    print(f"written to {out} ({result['wall_seconds']} s)")


if __name__ == "__main__":
    main()
