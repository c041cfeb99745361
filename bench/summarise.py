"""One summary file per benchmark in bench/results/: the latest three runs of each variant,
each with the commit it ran on. `bench/run_all.sh` calls it after the runs:

    .venv/bin/python bench/summarise.py --commit "$(git describe --always --dirty)" \
        bench/results/generations-20261203-101500-*.json

A benchmark writes one raw result per run (`--out`, named `<benchmark>-<stamp>….json`);
those stay as scratch (.gitignore). This files each under its benchmark's summary
(`generations.json`, `history.json`, …) and variant (the settings that make two runs
comparable: database, broker, number of jobs…), keeps the newest three per variant and
drops the rest. `--spread` of generations.py, history.py and zip_export.py reads a summary
as it reads raw results (`runs_in`).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
KEEP = 3
# Each benchmark by the start of its raw files' names (also its summary's name), with the
# fields of a result that tell its variants apart.
VARIANT_FIELDS: dict[str, tuple[str, ...]] = {
    "generations": ("database", "broker", "jobs", "clusters", "callbacks"),
    "history": ("database",),
    "zip-export": ("database",),
    "chaos": ("database", "broker", "create_seconds"),
    "fairness": ("database", "broker", "scenario", "jobs_per_member", "rate_per_key"),
    "upload-memory": (),
    "image-smoke": (),
}
# A history result also lists, per page, each query's SQL text, label and time: what one
# reads to explain a single run. A summary compares runs, so it keeps the counts and times
# and leaves those lists out (two thirds of a history result).
PER_QUERY_DETAIL = {"sql", "query_labels", "sql_median_ms_by_query"}


def benchmark_of(path: Path) -> str:
    for name in VARIANT_FIELDS:
        if path.name.startswith(f"{name}-"):
            return name
    raise SystemExit(f"{path}: not named after a benchmark ({', '.join(VARIANT_FIELDS)})")


def variant_of(benchmark: str, result: dict[str, Any]) -> str:
    # A field a result leaves out (an option added later, such as chaos's slow creates)
    # is left out of the name too, so the runs made before it keep their variant.
    fields = [f for f in VARIANT_FIELDS[benchmark] if result.get(f) is not None]
    return ", ".join(f"{field}={result.get(field)}" for field in fields) or "default"


def without_query_detail(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_query_detail(v) for k, v in value.items() if k not in PER_QUERY_DETAIL}
    if isinstance(value, list):
        return [without_query_detail(v) for v in value]
    return value


def read_raw(path: Path, commit: str | None) -> dict[str, Any]:
    """A raw result, with the commit and start time that some benchmarks do not record:
    the commit run_all.sh measured, and the time the file was written."""
    result = json.loads(path.read_text())
    if "commit" not in result:
        if commit is None:
            raise SystemExit(f"{path} does not say which commit it ran on: pass --commit")
        result["commit"] = commit
    result.setdefault(
        "started", time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(path.stat().st_mtime))
    )
    return without_query_detail(result)


def add(paths: list[Path], commit: str | None) -> list[Path]:
    """File the raw results into their summaries; returns the summaries written."""
    by_benchmark: dict[str, list[Path]] = {}
    for path in paths:
        by_benchmark.setdefault(benchmark_of(path), []).append(path)
    written = []
    RESULTS.mkdir(exist_ok=True)
    for benchmark, raw_paths in by_benchmark.items():
        summary_path = RESULTS / f"{benchmark}.json"
        variants: dict[str, list[dict[str, Any]]] = {}
        if summary_path.exists():
            variants = json.loads(summary_path.read_text())["variants"]
        for path in raw_paths:
            result = read_raw(path, commit)
            runs = variants.setdefault(variant_of(benchmark, result), [])
            # Summarising the same file twice must not count its run twice.
            runs[:] = [r for r in runs if r["started"] != result["started"]] + [result]
        for runs in variants.values():
            runs.sort(key=lambda r: r["started"], reverse=True)
            del runs[KEEP:]
        summary = {
            "benchmark": benchmark,
            "about": f"The latest {KEEP} runs of each variant, newest first (bench/summarise.py).",
            "variants": dict(sorted(variants.items())),
        }
        summary_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
        written.append(summary_path)
    return written


def runs_in(paths: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, result) of every run in these files: a raw result is one run, a summary
    holds several."""
    for path in paths:
        data = json.loads(Path(path).read_text())
        name = Path(path).name
        if "variants" not in data:
            yield name, data
            continue
        for runs in data["variants"].values():
            for run in runs:
                yield f"{name} ({run['commit']}, {run['started']})", run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("raw", nargs="+", type=Path, help="raw result files")
    parser.add_argument("--commit", help="the commit measured, for results that do not say")
    args = parser.parse_args()
    for summary in add(args.raw, args.commit):
        print(f"summary: {summary.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
