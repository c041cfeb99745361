"""schemathesis against /v1/openapi.json: requests generated from the description (a
bounded number per operation, no stateful sequences), sent with a member's token to
the app in this process (WSGI). No answer may be a server error, and every answer must
be one the description lists, in the shape it gives."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from playground.apitokens.models import ApiToken
from playground.teams.models import Membership, Role, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(django_user_model: Any, settings: Any) -> Iterator[str]:
    # Answer at once (a job is never awaited here: no cluster runs), and no throttle
    # between the generated requests.
    settings.API_WAIT_SECONDS = 0
    settings.API_REQUESTS_PER_MINUTE = 100_000
    settings.API_AUTH_FAILURES_PER_ADDRESS = 100_000
    team = Team.objects.create(name="Team A", slug="a")
    user = django_user_model.objects.create_user("alice", password="pw")
    membership = Membership.objects.create(user=user, team=team, role=Role.MEMBER)
    # As Django's test client does: a request's start and end must not close the connection the
    # test's transaction lives in.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield ApiToken.issue(membership, name="schemathesis")[1]
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_the_api_answers_as_described(token: str) -> None:
    # schemathesis' own pytest plugin does not run under this pytest: each operation's
    # strategy is driven by Hypothesis here instead.
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", get_wsgi_application())
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 5

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_described(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=checks)

        answers_as_described()
