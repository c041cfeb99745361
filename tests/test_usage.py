"""The usage page and its CSV, against figures computed by hand."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from playground.billing.models import ApiKey
from playground.generations.models import Generation, State
from playground.teams.models import Membership, Team
from tests.conftest import logged_in
from tests.factories import make_generation, stored_key

pytestmark = pytest.mark.django_db
D = Decimal


def at(day: int, month: int = 10) -> datetime:
    return datetime(2026, month, day, 12, 0, tzinfo=timezone.get_current_timezone())


def key(label: str, last4: str, team: Team) -> ApiKey:
    return stored_key(label, f"sk-evo-secret-{last4}", team)


@pytest.fixture
def october(alice: User, bob: User, charlie: User, team_a: Team) -> dict[str, ApiKey]:
    """Team A's October 2026, by the spend rule:
    alice: 2.00 charged (gpt-image-1, estimated 2.50, key one, Oct 3)
           + 1.00 uncertain (gpt-image-1, its estimate, Oct 3)
    bob:   1.50 reserved, running (gpt-image-2, key two, Oct 10)
           + 0 failed (gpt-image-2, 3.00 reserved then released, key two, Oct 10)
           + 0.40 charged, "Only me" (gpt-image-2, estimated 0.50, key two, Oct 31)
    Not counted: alice's September job, charlie's job in team B."""
    one, two = key("One", "1111", team_a), key("Two", "2222", team_a)
    rows = [
        (
            alice,
            "gpt-image-1",
            State.COMPLETED,
            dict(estimated_credits=D("2.5"), credits_charged=D("2"), api_key=one),
            at(3),
        ),
        (alice, "gpt-image-1", State.UNCERTAIN, dict(estimated_credits=D("1")), at(3)),
        (
            bob,
            "gpt-image-2",
            State.RUNNING,
            dict(estimated_credits=D("1.6"), credits_reserved=D("1.5"), api_key=two),
            at(10),
        ),
        (
            bob,
            "gpt-image-2",
            State.FAILED,
            dict(estimated_credits=D("3.1"), credits_reserved=D("3"), api_key=two),
            at(10),
        ),
        (
            bob,
            "gpt-image-2",
            State.COMPLETED,
            dict(
                estimated_credits=D("0.5"),
                credits_charged=D("0.4"),
                api_key=two,
                private=True,
                prompt="=HYPERLINK(x)",
            ),
            at(31),
        ),
        (alice, "gpt-image-1", State.COMPLETED, dict(credits_charged=D("50")), at(20, 9)),
        (charlie, "gpt-image-1", State.COMPLETED, dict(credits_charged=D("70")), at(5)),
    ]
    for owner, model, state, fields, created in rows:
        job = make_generation(owner, model=model, state=state, **fields)
        Generation.objects.filter(pk=job.pk).update(created_at=created)
    return {"one": one, "two": two}


def test_the_admin_sees_the_month_per_day_member_model_and_key(
    october: dict, ada_client: Client
) -> None:
    page = ada_client.get("/t/a/usage/?month=2026-10").content.decode()
    assert 'data-testid="team-total">4.90 credits' in " ".join(page.split())
    assert "5 jobs this month" in page
    member = page.split('data-testid="per-member"', 1)[1].split("</table>", 1)[0]
    assert "<td>alice</td><td>2</td><td>3.00</td>" in member
    assert "<td>bob</td><td>3</td><td>1.90</td>" in member
    keys = page.split('data-testid="per-key"', 1)[1].split("</table>", 1)[0]
    assert (
        '<span translate="no">One</span> <code translate="no">sk-evo-…1111</code>'
        "</td><td>1</td><td>2.00" in keys
    )
    assert (
        '<span translate="no">Two</span> <code translate="no">sk-evo-…2222</code>'
        "</td><td>3</td><td>1.90" in keys
    )
    model = page.split('data-testid="per-model"', 1)[1].split("</table>", 1)[0]
    # gpt-image-1: one charged job, estimated 2.50, charged 2.00: 80 %.
    assert (
        "<td>GPT Image 1</td><td>2</td><td>3.00</td>"
        "<td>1</td><td>2.50</td><td>2.00</td><td>80 %</td>" in model
    )
    assert (
        "<td>GPT Image 2</td><td>3</td><td>1.90</td>"
        "<td>1</td><td>0.50</td><td>0.40</td><td>80 %</td>" in model
    )
    # The chart: 31 bars, the 3rd the tallest (3.00), the 10th half of it.
    chart = page.split('data-testid="chart"', 1)[1].split("</svg>", 1)[0]
    assert chart.count('class="bar"') == 31
    assert "October 3: 3.00 credits" in chart and "October 10: 1.50 credits" in chart
    assert "October 31: 0.40 credits" in chart and "October 4: 0.00 credits" in chart


def test_the_csv_lists_the_jobs_behind_it_without_colleagues_private_prompts(
    october: dict, ada_client: Client
) -> None:
    response = ada_client.get("/t/a/usage.csv?month=2026-10")
    assert response["Content-Disposition"] == 'attachment; filename="a-usage-2026-10.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 5
    assert sum(D(r["counted_credits"]) for r in rows) == D("4.9")
    private = next(r for r in rows if r["only_me"] == "yes")
    assert private["prompt"] == "" and private["made_by"] == "bob"
    assert {r["counted_as"] for r in rows} == {
        "charged",
        "estimated",
        "uncertain",
        "not_charged",
        "reserved",
    } - {"estimated"}


def test_a_formula_in_a_prompt_is_not_run_by_a_spreadsheet(october: dict, bob: User) -> None:
    response = logged_in_admin(bob).get("/t/a/usage.csv?month=2026-10")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert next(r for r in rows if r["only_me"] == "yes")["prompt"] == "'=HYPERLINK(x)"


def logged_in_admin(user: User) -> Client:
    Membership.objects.filter(user=user).update(role="admin")
    return logged_in(user)


def test_a_member_sees_their_own_month_and_what_is_left(
    october: dict, alice: User, alice_client: Client
) -> None:
    Membership.objects.filter(user=alice).update(monthly_cap_credits=D("10"))
    page = alice_client.get("/t/a/usage/?month=2026-10").content.decode()
    assert "3.00 credits this month" in page and "7.00 left of your cap of 10.00." in page
    assert 'data-testid="per-member"' not in page and "bob" not in page
    assert alice_client.get("/t/a/usage.csv?month=2026-10").status_code == 403


def test_a_superuser_sees_any_teams_usage(october: dict) -> None:
    root = User.objects.create_superuser("root", "root@example.com", "x")
    client = logged_in(root)
    page = client.get("/t/a/usage/?month=2026-10").content.decode()
    assert "4.90 credits" in page
    assert client.get("/t/a/usage.csv?month=2026-10").status_code == 200
    assert client.get("/t/nope/usage/").status_code == 404


def test_a_bad_month_shows_the_current_one(ada_client: Client) -> None:
    page = ada_client.get("/t/a/usage/?month=nonsense").content.decode()
    assert timezone.localdate().strftime("%B %Y") in page
