"""What a job costs: one rule (playground/generations/spend.py), in Python and in SQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db.models import Sum

from playground.generations import spend
from playground.generations.models import Generation, State
from tests.factories import make_generation

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.mark.parametrize(
    ("state", "reserved", "charged", "expected", "kind"),
    [
        (State.COMPLETED, D("6.5"), D("6.25"), D("6.25"), "charged"),
        (State.COMPLETED, D("6.5"), None, D("6.5"), "reserved"),
        (State.COMPLETED, None, None, D("7"), "estimated"),
        (State.FAILED, D("6.5"), None, D("0"), "not_charged"),
        (State.FAILED, None, D("1.5"), D("1.5"), "charged"),  # as the upstream reports
        (State.UNCERTAIN, None, None, D("7"), "uncertain"),
        (State.RUNNING, D("6.5"), None, D("6.5"), "reserved"),
        (State.QUEUED, None, None, D("7"), "estimated"),
        (State.TIMED_OUT, D("6.5"), None, D("6.5"), "reserved"),
    ],
)
def test_the_rule_in_python_and_in_sql_agree(
    alice: User,
    state: str,
    reserved: Decimal | None,
    charged: Decimal | None,
    expected: Decimal,
    kind: str,
) -> None:
    job = make_generation(
        alice,
        state=state,
        estimated_credits=D("7"),
        credits_reserved=reserved,
        credits_charged=charged,
    )
    assert spend.charge_of(job) == spend.Charge(expected, kind)
    total = Generation.objects.aggregate(total=Sum(spend.counted()))["total"]
    assert total == expected


def test_the_charge_is_read_from_the_usage_evolink_reports() -> None:
    assert spend.charged_from_usage({"credits_used": 6.55085}) == D("6.55085")
    assert spend.charged_from_usage({"credits_reserved": 6.5}) is None
    assert spend.charged_from_usage({"credits_used": True}) is None
    assert spend.charged_from_usage({"credits_used": "n/a"}) is None
    assert spend.charged_from_usage([]) is None  # type: ignore[arg-type]


def test_the_job_page_says_which_figure_it_shows(alice: User, alice_client) -> None:  # type: ignore[no-untyped-def]
    failed = make_generation(
        alice, state=State.FAILED, estimated_credits=D("7"), credits_reserved=D("6.5")
    )
    html = alice_client.get(f"/generations/{failed.public_id}/").content.decode()
    charge = html.split('data-testid="charge">', 1)[1].split("</dd>", 1)[0]
    assert ">Not charged<" in charge and "credits" not in charge
    # What EvoLink held, and that the failure released it (a designer's words).
    reserved = html.split('data-testid="reserved">', 1)[1].split("</dd>", 1)[0]
    assert 'title="6.50000">6.50<' in reserved and "released on failure" in reserved
    done = make_generation(alice, state=State.COMPLETED, credits_charged=D("6.55085"))
    html = alice_client.get(f"/generations/{done.public_id}/").content.decode()
    charge = html.split('data-testid="charge">', 1)[1].split("</dd>", 1)[0]
    # A sensible precision, the exact figure on hover.
    assert '<span title="6.55085">6.55</span> credits' in charge and ">charged<" in charge
