"""What the benchmarks share: the commit measured, percentiles, a scratch PostgreSQL
database. Import it after putting the repository's root on sys.path (each benchmark
does, as it runs as a script)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def commit() -> str:
    """The code measured: HEAD, marked -dirty when the working tree has changes."""
    try:
        return subprocess.run(
            ["git", "describe", "--always", "--dirty"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def reset_postgres(force: bool) -> None:
    """Create the database if missing, and start from an empty `public` schema."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    name = connection.settings_dict["NAME"]
    if "bench" not in name and not force:
        sys.exit(
            f"refusing to drop every table of database {name!r} (no 'bench' in its "
            "name); pass --force if that is what you want"
        )
    admin = {k: v for k, v in params.items() if k in ("host", "port", "user", "password")}
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA IF EXISTS public CASCADE")
        cursor.execute("CREATE SCHEMA public")
    connection.close()
