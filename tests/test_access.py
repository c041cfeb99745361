"""Who may reach what: every URL pattern, for every persona.

Personas (tests/conftest.py): alice made the jobs (member of team A), bob is her
teammate, vera a viewer and ada the admin of team A; charlie belongs to team B only;
anonymous is signed in nowhere. A person outside a team gets 404 for everything of
the team's; a viewer gets 403 for anything that would generate, delete or change.

Here: teams, people, keys and accounts. The work (the studio, jobs, images, exports,
collections, the matrix) is in test_access_work.py; tests/fixtures_access.py has the
vocabulary both tables use. `test_every_url_pattern_has_an_access_case` enumerates
urls.py: a new view cannot be added without saying in one of them who may reach it.
"""

from __future__ import annotations

import pytest

from tests.fixtures_access import (
    EVERYONE,
    PERSONAS,
    Case,
    World,
    addressed,
    alice_token,
    check_access,
    contract_check,
    expect,
    url_names,
)
from tests.test_access_comments import CASES as COMMENT_CASES
from tests.test_access_reviews import CASES as REVIEW_CASES
from tests.test_access_work import CASES as WORK_CASES
from tests.test_notifications_access import CASES as NOTIFICATION_CASES
from tests.test_share_links_access import CASES as SHARE_LINK_CASES

pytestmark = pytest.mark.django_db

NO_TOKEN = {p: 401 for p in PERSONAS}

CASES: dict[str, list[Case]] = {
    # Everyone signed in is sent to their own current team's studio.
    "home": [Case("get", lambda w, p: "/", expect(302, stranger=302))],
    "team": [Case("get", lambda w, p: "/t/a/members/", expect(200))],
    # An invitation by username: the same answer whether or not anyone has the name.
    "member_add": [
        Case(
            "post",
            lambda w, p: "/t/a/members/add/",
            expect(302, ("admin",)),
            data=lambda w, p: {"username": "nobody", "role": "member"},
        )
    ],
    # A person's own invitations: their page; accepting or declining one addressed to
    # someone else is 404 (here charlie, the stranger, is the one invited to team A).
    "my_invitations": [Case("get", lambda w, p: "/invitations/", expect(200, stranger=200))],
    "invitation_accept": [
        Case(
            "post",
            lambda w, p: f"/invitations/{addressed(w)}/accept/",
            expect(404, stranger=302),
        )
    ],
    "invitation_decline": [
        Case(
            "post",
            lambda w, p: f"/invitations/{addressed(w)}/decline/",
            expect(404, stranger=302),
        )
    ],
    "member_role": [
        Case(
            "post",
            lambda w, p: f"/t/a/members/{w.bob_membership.pk}/role/",
            expect(302, ("admin",)),
            data=lambda w, p: {"role": "viewer"},
        )
    ],
    "member_remove": [
        Case(
            "post",
            lambda w, p: f"/t/a/members/{w.bob_membership.pk}/remove/",
            expect(302, ("admin",)),
        )
    ],
    "invitation_create": [
        Case(
            "post",
            lambda w, p: "/t/a/invitations/",
            expect(200, ("admin",)),
            data=lambda w, p: {"role": "viewer"},
        )
    ],
    "invitation_revoke": [
        Case(
            "post",
            lambda w, p: f"/t/a/invitations/{w.invitation.pk}/revoke/",
            expect(302, ("admin",)),
        )
    ],
    "team_budget": [
        Case(
            "post",
            lambda w, p: "/t/a/budget/",
            expect(302, ("admin",)),
            data=lambda w, p: {"monthly_budget_credits": "100"},
        )
    ],
    "team_limits": [
        Case(
            "post",
            lambda w, p: "/t/a/limits/",
            expect(302, ("admin",)),
            data=lambda w, p: {"member_jobs_in_flight_limit": "20"},
        )
    ],
    # Spend alerts: the team's admins only (tests/test_alerts_pages.py).
    "alerts": [Case("get", lambda w, p: "/t/a/alerts/", expect(200, ("admin",)))],
    "alerts_settings": [
        Case(
            "post",
            lambda w, p: "/t/a/alerts/settings/",
            expect(302, ("admin",)),
            data=lambda w, p: {"thresholds": "50, 90", "webhook_url": ""},
        )
    ],
    "alerts_secret": [Case("post", lambda w, p: "/t/a/alerts/secret/", expect(200, ("admin",)))],
    # Members and viewers see their own spend; the whole team's is for admins.
    "usage": [Case("get", lambda w, p: "/t/a/usage/", expect(200))],
    "usage_csv": [Case("get", lambda w, p: "/t/a/usage.csv", expect(200, ("admin",)))],
    "keys": [Case("get", lambda w, p: "/t/a/keys/", expect(200, ("admin",)))],
    "key_add": [Case("post", lambda w, p: "/t/a/keys/add/", expect(400, ("admin",)))],
    "key_change": [
        Case(
            "post",
            lambda w, p: f"/t/a/keys/{w.key.pk}/",
            expect(302, ("admin",)),
            data=lambda w, p: {"label": "renamed", "priority": "1", "enabled": "on"},
        )
    ],
    "key_check": [
        Case("post", lambda w, p: f"/t/a/keys/{w.key.pk}/check/", expect(302, ("admin",)))
    ],
    # The contract check spends a key's credits and shows EvoLink's raw answers: for
    # superusers only (tests/test_contract_check.py); the team's own admin gets 403 too.
    "contract_check_start": [
        Case("get", lambda w, p: f"/t/a/keys/{w.key.pk}/contract/", expect(403, ())),
        Case("post", lambda w, p: f"/t/a/keys/{w.key.pk}/contract/", expect(403, ())),
    ],
    "contract_check": [
        Case("get", lambda w, p: f"/t/a/keys/contract/{contract_check(w)}/", expect(403, ()))
    ],
    # A team admin switches a model for the team; the whole site's switch is a
    # superuser's (tests/test_model_availability.py).
    "model_switch": [
        Case(
            "post",
            lambda w, p: "/t/a/keys/models/",
            expect(302, ("admin",)),
            data=lambda w, p: {"model": "gpt-image-1.5", "scope": "team", "on": "0"},
        )
    ],
    # The audit log: a team's for its admins; every team's for superusers only
    # (tests/test_audit_pages.py has the superuser's side).
    "team_audit": [Case("get", lambda w, p: "/t/a/audit/", expect(200, ("admin",)))],
    "team_audit_csv": [Case("get", lambda w, p: "/t/a/audit.csv", expect(200, ("admin",)))],
    "site_audit": [Case("get", lambda w, p: "/audit/", expect(403, (), stranger=403))],
    "site_audit_csv": [Case("get", lambda w, p: "/audit.csv", expect(403, (), stranger=403))],
    # Everyone in the team makes their own API tokens (a viewer's token only reads);
    # a token is revoked by its member or a team admin, and is 404 to anyone else.
    "api_tokens": [Case("get", lambda w, p: "/t/a/tokens/", expect(200))],
    "api_token_create": [
        Case(
            "post",
            lambda w, p: "/t/a/tokens/add/",
            expect(200),
            data=lambda w, p: {"name": "script", "days": "30"},
        )
    ],
    "api_token_revoke": [
        Case(
            "post",
            lambda w, p: f"/t/a/tokens/{alice_token(w)}/revoke/",
            expect(302, ("creator", "admin"), teammate=404, viewer=404),
        )
    ],
    # The images API: a personal token is the only key (tests/test_api*.py); a signed-in
    # session opens nothing there. Its description is public; an image link is its own
    # key, and a made-up one is 404 to everyone.
    "api_generations": [Case("post", lambda w, p: "/v1/images/generations", NO_TOKEN)],
    "api_edits": [Case("post", lambda w, p: "/v1/images/edits", NO_TOKEN)],
    "api_jobs": [Case("get", lambda w, p: "/v1/jobs", NO_TOKEN)],
    "api_job": [Case("get", lambda w, p: f"/v1/jobs/{w.job.public_id}", NO_TOKEN)],
    "api_models": [Case("get", lambda w, p: "/v1/models", NO_TOKEN)],
    "api_openapi": [Case("get", lambda w, p: "/v1/openapi.json", dict(EVERYONE))],
    "api_image": [
        Case("get", lambda w, p: "/v1/images/files/MQ:made:up", {p: 404 for p in PERSONAS})
    ],
    "invitation": [
        # Anyone holding the link may open it (anonymous to sign up); strangers too.
        Case("get", lambda w, p: f"/invite/{w.invitation_token}/", dict(EVERYONE)),
    ],
    # The language menu: anyone may choose (the login page has it too); only a POST
    # changes anything, and it only touches the chooser's own profile and cookie.
    "language": [
        Case(
            "post",
            lambda w, p: "/language/",
            {p: 302 for p in PERSONAS},
            data=lambda w, p: {"language": "ko", "next": "/t/a/"},
        ),
        Case("get", lambda w, p: "/language/", {p: 405 for p in PERSONAS}),
    ],
    # The scripts' messages: the same for everyone, the login page needs them too.
    "javascript_catalog": [Case("get", lambda w, p: "/jsi18n/", dict(EVERYONE))],
    "password_change": [Case("get", lambda w, p: "/account/password/", expect(200, stranger=200))],
    "password_change_done": [
        Case("get", lambda w, p: "/account/password/done/", expect(200, stranger=200))
    ],
    # Reachable by anyone: a forgotten password must be recoverable without a login.
    "password_reset": [Case("get", lambda w, p: "/password-reset/", dict(EVERYONE))],
    "password_reset_done": [Case("get", lambda w, p: "/password-reset/sent/", dict(EVERYONE))],
    "password_reset_confirm": [
        Case("get", lambda w, p: "/password-reset/MQ/not-a-token/", dict(EVERYONE))
    ],
    "password_reset_complete": [
        Case("get", lambda w, p: "/password-reset/complete/", dict(EVERYONE))
    ],
    "login": [
        Case("get", lambda w, p: "/login/", {**{p: 302 for p in PERSONAS}, "anonymous": 200})
    ],
    "logout": [Case("post", lambda w, p: "/logout/", {p: 302 for p in PERSONAS})],
    # Single sign-on's two ends: 404 without OIDC_ISSUER (as here); with a provider,
    # tests/test_sso.py checks them for anyone, signed in or not.
    "sso_start": [Case("get", lambda w, p: "/sso/start/", {p: 404 for p in PERSONAS})],
    "sso_callback": [
        Case("get", lambda w, p: "/sso/callback/?code=x&state=y", {p: 404 for p in PERSONAS})
    ],
    "health": [Case("get", lambda w, p: "/healthz", dict(EVERYONE))],
}


def test_every_url_pattern_has_an_access_case() -> None:
    every_case = {
        **CASES,
        **WORK_CASES,
        **NOTIFICATION_CASES,
        **SHARE_LINK_CASES,
        **COMMENT_CASES,
        **REVIEW_CASES,
    }
    missing = url_names() - set(every_case)
    assert not missing, f"add access cases for: {sorted(missing)}"
    assert not set(every_case) - url_names(), "cases for URLs that no longer exist"
    for name, cases in every_case.items():
        for case in cases:
            assert set(case.expected) == set(PERSONAS), name


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("name", "index"), [(name, i) for name, cases in CASES.items() for i in range(len(cases))]
)
def test_access(world: World, name: str, index: int, persona: str) -> None:
    check_access(world, CASES[name][index], persona)
