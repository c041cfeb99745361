"""Benchmark: the team history fragment on a big team, page 1 and page 200, with and
without filters, and its live check. Not a test: run on demand, results go to a file.

    .venv/bin/python bench/history.py                     # SQLite in a temp dir
    DATABASE_URL=postgres://postgres@127.0.0.1/bench .venv/bin/python bench/history.py
    .venv/bin/python bench/history.py --spread bench/results/history.json

A team of 20 members gets 10,000 jobs (bulk-inserted by bench/big_team.py): spread over
the members, the three models, mostly completed and some failed (the newest few still in
flight), created over the last 60 days, prompts made of words like fox / watercolor /
lighthouse, about 5 % "Only me"; each completed job has one or two fake result rows (no
files), a failed or in-flight one has none. One member (the admin) then reads
`GET /t/<team>/history/` through Django's test client (`force_login`), for each filter
case:

- page 1;
- page 200: `?before=<id of the 3980th newest job of the unfiltered view>`, i.e. jobs
  ranked 3981-4000 without filters; with filters, the matches below that same id;
- the last page of the (filtered) view, whichever page number that is;
- the live check of page 1 and of page 200: the fragment's own `hx-get` URL (which
  carries `since=<history_stamp>`) while nothing changed, which must answer 204.

Each is requested `--repeats` times after a warm-up; the figures are the SQL query
count (CaptureQueriesContext, the same on every repetition or it is reported) and
the median time of the whole request. Target: the same small query count on every
page, with and without filters.

Then requests per second, one after another for `--throughput-seconds` each: a bare
page (our middleware and login, a one-line template), the live check, and the
fragment's page 1 and page 200. Target: the live check, which every open tab sends
every 2 s, at least half the bare page's rate.

On PostgreSQL the database of DATABASE_URL is created if missing and its `public`
schema is dropped and recreated (only for a database whose name contains "bench",
unless --force), then migrated. `--spread` prints the min-max of each figure over
earlier result files, per database.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.big_team import populate  # noqa: E402
from bench.common import commit, percentile, reset_postgres  # noqa: E402
from bench.summarise import runs_in  # noqa: E402

PAGE_200_RANK = 3980  # `before` = the id of this job: page 200 shows ranks 3981-4000


KNOWN = {
    "django_session (limit)": "session",
    "auth_user (limit)": "signed-in user",
    "teams_membership (limit)": "membership (access check)",
    "playground_generation (limit)": "history page rows",
    "playground_resultimage (prefetch)": "page images (prefetch)",
    "playground_generation (aggregate)": "counters + stamp (aggregate)",
    "teams_membership": "members list (filter menu)",
}


def label(sql: str) -> str:
    """A short name for a query: what it reads, from its first table and its shape."""
    verb = sql.split(None, 1)[0].upper()
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql, re.IGNORECASE)
    name = table.group(1) if table else "?"
    if "COUNT(" in sql.upper():
        name += " (aggregate)"
    elif re.search(r"\bLIMIT\b", sql, re.IGNORECASE):
        name += " (limit)"
    elif re.search(r"\bIN\s*\(", sql) and "resultimage" in name:
        name += " (prefetch)"
    return KNOWN.get(name, f"{verb} {name}") if verb == "SELECT" else f"{verb} {name}"


# --------------------------------------------------------------------------------------
# Setting up Django and the data


def setup_django(workdir: Path) -> None:
    # whitenoise: no STATIC_ROOT until `collectstatic` has run; the fragment needs none.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    os.environ.setdefault("PLAYGROUND_VAR_DIR", str(workdir))
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
    import django

    django.setup()


# --------------------------------------------------------------------------------------
# Measuring


def cases(other: str) -> list[tuple[str, dict[str, str]]]:
    from django.utils import timezone

    today = timezone.localdate()
    span = {
        "from": (today - timedelta(days=30)).isoformat(),
        "to": (today - timedelta(days=16)).isoformat(),
    }
    return [
        ("no filter", {}),
        ("view=mine", {"view": "mine"}),
        ("member", {"member": other}),
        ("model+status", {"model_filter": "gpt-image-1", "status": "completed"}),
        ("status=in_flight", {"status": "in_flight"}),
        ("q=fox watercolor", {"q": "fox watercolor"}),
        ("from/to", span),
        (
            "all combined",
            {
                "member": other,
                "model_filter": "gpt-image-1",
                "status": "completed",
                **span,
                "q": "fox watercolor",
            },
        ),
    ]


def measure(
    client: Any, url: str, repeats: int, expect: int, keep_sql: bool = False
) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):  # warm up: templates, the session's remembered team, caches
        response = client.get(url)
        assert response.status_code == expect, (url, response.status_code)
    timings, sql_ms, counts = [], [], []
    in_sql: list[float] = []  # seconds in cursor.execute, per query of the current request
    by_query: dict[str, list[float]] = {}

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            in_sql.append(time.perf_counter() - t)

    labels: list[str] = []
    for _ in range(repeats):
        in_sql.clear()
        with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(timed):
            t0 = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - t0)
        assert response.status_code == expect, (url, response.status_code)
        counts.append(len(ctx.captured_queries))
        sql_ms.append(sum(in_sql) * 1000)
        labels = [label(q["sql"]) for q in ctx.captured_queries]
        for name, seconds in zip(labels, in_sql, strict=True):
            by_query.setdefault(name, []).append(seconds * 1000)
        sql = [q["sql"] for q in ctx.captured_queries]
    body = response.content.decode()
    result = {
        "url": url,
        "status": response.status_code,
        "queries": counts[-1],
        "queries_min_max": [min(counts), max(counts)],
        "median_ms": round(statistics.median(timings) * 1000, 2),
        "p95_ms": round(percentile(timings, 0.95) * 1000, 2),
        "min_ms": round(min(timings) * 1000, 2),
        "sql_median_ms": round(statistics.median(sql_ms), 2),
        "query_labels": labels,
        "sql_median_ms_by_query": {
            name: round(statistics.median(ms), 2) for name, ms in by_query.items()
        },
    }
    if keep_sql:
        result["sql"] = sql
    if expect == 200:
        shown = [int(pk) for pk in re.findall(r'id="generation-(\d+)"', body)]
        result["rows"] = len(shown)
        result["first_id"] = shown[0] if shown else None
        live = re.search(r'<section id="history"[^>]*hx-get="([^"]+)"', body)
        result["live_url"] = html.unescape(live.group(1)) if live else None
    return result


def bare_urlconf() -> str:
    """Our URLs plus /bench/bare/: a page behind the same middleware and login that
    renders a one-line template, the yardstick for "what any page costs"."""
    import types

    from django.http import HttpResponse
    from django.template import engines
    from django.urls import path

    from playground import urls

    template = engines["django"].from_string(
        "<!doctype html><title>bare</title><p>{{ request.user.username }}</p>"
    )

    def bare(request: Any) -> HttpResponse:
        return HttpResponse(template.render({}, request))

    module = types.ModuleType("bench_bare_urls")
    module.urlpatterns = [path("bench/bare/", bare), *urls.urlpatterns]  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    return module.__name__


def throughput(client: Any, urls: dict[str, tuple[str, int]], seconds: float) -> dict[str, Any]:
    """Requests per second of each URL, one request after another in this process (the
    server's own cost, no network), in three interleaved rounds so that a drift of the
    machine touches every URL alike."""
    counts = {name: 0 for name in urls}
    spent = {name: 0.0 for name in urls}
    for _ in range(3):
        for name, (url, expect) in urls.items():
            end = time.perf_counter() + seconds / 3
            t0 = time.perf_counter()
            while time.perf_counter() < end:
                assert client.get(url).status_code == expect, (name, url)
                counts[name] += 1
            spent[name] += time.perf_counter() - t0
    rps = {name: round(counts[name] / spent[name], 1) for name in urls}
    return {
        "urls": {name: url for name, (url, _expect) in urls.items()},
        "requests_per_second": rps,
        "share_of_bare_page": {
            name: round(value / rps["bare page"], 3) for name, value in rps.items()
        },
    }


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    started = time.monotonic()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    setup_django(workdir)
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from playground.generations.models import Generation
    from playground.studio.history import PAGE_SIZE

    if connection.vendor == "postgresql":
        reset_postgres(args.force)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        db_version = cursor.fetchone()[0]
    t0 = time.monotonic()
    world = populate(args.jobs, args.seed)
    setup_seconds = round(time.monotonic() - t0, 2)
    team, viewer, other = world["team"], world["viewer"], world["other_member"]

    base = f"/t/{team.slug}/history/"
    visible = Generation.objects.visible_to(viewer, team).order_by("-id")
    # With fewer jobs (a quick trial with --jobs), the deepest page there is.
    page_200_rank = min(PAGE_200_RANK, (visible.count() - 1) // PAGE_SIZE * PAGE_SIZE)
    page_200_before = visible.values_list("id", flat=True)[page_200_rank - 1]
    client = Client()
    client.force_login(viewer)

    from django.http import QueryDict

    from playground.gallery import favourites
    from playground.generations.history import HistoryFilter

    expected_first = visible.values_list("id", flat=True)[page_200_rank]
    results_cases = []
    for name, params in cases(other.username):
        query = urlencode(params)
        chosen = HistoryFilter.from_query(QueryDict(query))
        matching = chosen.apply(visible, viewer, favourites.starred_jobs(viewer)).order_by("-id")
        matches = matching.count()
        below = matching.filter(id__lt=page_200_before).count()
        last_start = (max(matches - 1, 0) // PAGE_SIZE) * PAGE_SIZE  # rank before last page
        last_before = matching.values_list("id", flat=True)[last_start - 1] if last_start else None
        urls = {
            "page_1": f"{base}?{query}" if query else base,
            "page_200": f"{base}?{query + '&' if query else ''}before={page_200_before}",
        }
        if last_before is not None:
            urls["last_page"] = f"{base}?{query + '&' if query else ''}before={last_before}"
        pages: dict[str, Any] = {}
        for page, url in urls.items():
            keep = page == "page_200" and name in ("no filter", "all combined")
            pages[page] = measure(client, url, args.repeats, 200, keep_sql=keep)
        if not params:
            assert pages["page_200"]["first_id"] == expected_first, pages["page_200"]
        pages["page_200"]["matches_below"] = below
        pages["page_200"]["page_of_view"] = (matches - below) // PAGE_SIZE + 1
        if "last_page" in pages:
            pages["last_page"]["page_of_view"] = last_start // PAGE_SIZE + 1
        live = {}
        for page in ("page_1", "page_200"):
            live_url = pages[page]["live_url"]
            assert live_url and "since=" in live_url, live_url
            live[page] = measure(client, live_url, args.repeats, 204)
        results_cases.append(
            {"name": name, "params": params, "matches": matches, "pages": pages, "live": live}
        )
        print(f"  measured {name}", flush=True)

    # Is the query count the same everywhere? If not, which queries differ.
    reference = results_cases[0]["pages"]["page_1"]["query_labels"]
    differences = []
    for case in results_cases:
        for kind in ("pages", "live"):
            for page, m in case[kind].items():
                if m["queries_min_max"][0] != m["queries_min_max"][1]:
                    differences.append(
                        {
                            "case": case["name"],
                            "page": page,
                            "kind": kind,
                            "unstable_count": m["queries_min_max"],
                        }
                    )
                if kind == "pages" and m["query_labels"] != reference:
                    extra = Counter(m["query_labels"]) - Counter(reference)
                    missing = Counter(reference) - Counter(m["query_labels"])
                    differences.append(
                        {
                            "case": case["name"],
                            "page": page,
                            "kind": kind,
                            "rows": m.get("rows"),
                            "extra": dict(extra),
                            "missing": dict(missing),
                        }
                    )
    # What the live history costs next to any page: the check every open tab sends every
    # 2 s (204 while nothing changed), and the fragment itself, page 1 and page 200.
    from django.test import override_settings

    plain = results_cases[0]
    with override_settings(ROOT_URLCONF=bare_urlconf()):
        speed = throughput(
            client,
            {
                "bare page": ("/bench/bare/", 200),
                "live check (204)": (plain["live"]["page_1"]["url"], 204),
                "fragment page 1": (plain["pages"]["page_1"]["url"], 200),
                "fragment page 200": (plain["pages"]["page_200"]["url"], 200),
            },
            args.throughput_seconds,
        )
    print(f"  throughput {speed['requests_per_second']}", flush=True)

    render_counts = {m["queries"] for c in results_cases for m in c["pages"].values()}
    live_counts = {m["queries"] for c in results_cases for m in c["live"].values()}

    import sqlite3

    results = {
        "benchmark": "history fragment",
        "started": started_at,
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.machine(),
            "python": platform.python_version(),
            "django": django.get_version(),
            "load_average_at_start": load_at_start,
        },
        "commit": commit(),
        "database": connection.vendor,
        "database_version": db_version,
        "sqlite_library": sqlite3.sqlite_version if connection.vendor == "sqlite" else None,
        "debug": settings.DEBUG,
        "data": {**world["data"], "seed": args.seed, "setup_seconds": setup_seconds},
        "viewer": viewer.username,
        "other_member": other.username,
        "repeats": args.repeats,
        "page_size": PAGE_SIZE,
        "page_200_before": page_200_before,
        "page_200_rank_of_before": page_200_rank,
        "cases": results_cases,
        "render_query_counts": sorted(render_counts),
        "live_check_query_counts": sorted(live_counts),
        "query_count_differences": differences,
        "target_same_query_count": len(render_counts) == 1,
        "throughput": speed,
        # The live history (the check every tab repeats) at least half as cheap as a
        # bare page.
        "target_live_check_half_of_bare_page": speed["share_of_bare_page"]["live check (204)"]
        >= 0.5,
    }
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["wall_seconds"] = round(time.monotonic() - started, 1)
    connection.close()
    return results


# --------------------------------------------------------------------------------------
# Reporting


def figures(result: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per case: the figures the table shows, by column name."""
    rows = {}
    for case in result["cases"]:
        p, live = case["pages"], case["live"]
        row = {
            "matches": case["matches"],
            "p1 q": p["page_1"]["queries"],
            "p1 ms": p["page_1"]["median_ms"],
            "p200 q": p["page_200"]["queries"],
            "p200 ms": p["page_200"]["median_ms"],
            "p200 rows": p["page_200"]["rows"],
        }
        if "last_page" in p:
            row["last#"] = p["last_page"]["page_of_view"]
            row["last q"] = p["last_page"]["queries"]
            row["last ms"] = p["last_page"]["median_ms"]
        row["204 p1 q"] = live["page_1"]["queries"]
        row["204 p1 ms"] = live["page_1"]["median_ms"]
        row["204 p200 q"] = live["page_200"]["queries"]
        row["204 p200 ms"] = live["page_200"]["median_ms"]
        rows[case["name"]] = row
    return rows


COLUMNS = [
    "matches",
    "p1 q",
    "p1 ms",
    "p200 q",
    "p200 ms",
    "p200 rows",
    "last#",
    "last q",
    "last ms",
    "204 p1 q",
    "204 p1 ms",
    "204 p200 q",
    "204 p200 ms",
]


def table(rows: dict[str, dict[str, str]]) -> str:
    width = {c: max(len(c), *(len(r.get(c, "-")) for r in rows.values())) for c in COLUMNS}
    name_w = max(len("case"), *(len(n) for n in rows))
    lines = ["case".ljust(name_w) + "  " + "  ".join(c.rjust(width[c]) for c in COLUMNS)]
    for name, r in rows.items():
        lines.append(
            name.ljust(name_w) + "  " + "  ".join(r.get(c, "-").rjust(width[c]) for c in COLUMNS)
        )
    return "\n".join(lines)


def fmt(value: float) -> str:
    return f"{value:g}" if isinstance(value, int) or float(value).is_integer() else f"{value:.1f}"


def print_result(result: dict[str, Any]) -> None:
    rows = {name: {c: fmt(v) for c, v in row.items()} for name, row in figures(result).items()}
    print(
        f"\n{result['database']} {result['database_version']}, {result['data']['jobs']} jobs,"
        f" {result['data']['members']} members, median of {result['repeats']} (ms), "
        f"page 200 = before={result['page_200_before']}"
    )
    print(table(rows))
    print(
        f"render query counts: {result['render_query_counts']}, "
        f"live check (204): {result['live_check_query_counts']}"
    )
    for d in result["query_count_differences"]:
        print(f"  differs: {d}")
    if "throughput" in result:
        speed = result["throughput"]
        print(
            "requests/s: "
            + ", ".join(
                f"{name} {rps:g} ({speed['share_of_bare_page'][name]:.0%})"
                for name, rps in speed["requests_per_second"].items()
            )
        )


def spread(paths: list[str]) -> None:
    by_db: dict[str, list[dict[str, Any]]] = {}
    for label, result in runs_in(paths):
        result["_label"] = label
        by_db.setdefault(result["database"], []).append(result)
    for db, results in by_db.items():
        all_rows = [figures(r) for r in results]
        rows = {}
        for name in all_rows[0]:
            row = {}
            for c in COLUMNS:
                values = [r[name][c] for r in all_rows if c in r.get(name, {})]
                if values:
                    lo, hi = min(values), max(values)
                    row[c] = fmt(lo) if lo == hi else f"{fmt(lo)}–{fmt(hi)}"
            rows[name] = row
        names = ", ".join(r["_label"] for r in results)
        print(f"\n{db}: min–max over {len(results)} runs ({names})")
        print(table(rows))
        speeds = [r["throughput"] for r in results if "throughput" in r]
        for name in speeds[0]["requests_per_second"] if speeds else []:
            rps = [s["requests_per_second"][name] for s in speeds]
            share = [s["share_of_bare_page"][name] for s in speeds]
            print(
                f"  {name:18} {min(rps):g}–{max(rps):g} requests/s, "
                f"{min(share):.0%}–{max(share):.0%} of the bare page"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--throughput-seconds", type=float, default=9.0, help="per URL, over 3 rounds"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="PostgreSQL: reset a database even without 'bench' in its name",
    )
    parser.add_argument(
        "--spread",
        nargs="+",
        metavar="RESULT",
        help="print the min–max of earlier result files instead of running",
    )
    parser.add_argument(
        "--out",
        default=str(ROOT / "bench" / "results" / time.strftime("history-%Y%m%d-%H%M%S.json")),
    )
    args = parser.parse_args()
    if args.spread:
        spread(args.spread)
        return
    workdir = Path(tempfile.mkdtemp(prefix="bench-history-"))
    try:
        result = run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print_result(result)
    print(f"written to {out} ({result['wall_seconds']} s)")


if __name__ == "__main__":
    main()
