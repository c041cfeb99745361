"""Single sign-on against a real OpenID Provider on loopback (npm's oidc-provider,
tests/oidc_provider.py): the whole redirect flow, with Django's test client on our side
and an HTTP client in the provider's pages, so it runs on SQLite and PostgreSQL alike
(tests/test_browser_sso.py walks it in Chromium).

Discovery, state, nonce and PKCE; an answer from another issuer or for another
audience refused; the e-mail domain allow-list; the group mapping applied at every
sign-in; the password form switched off.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_login_failed
from django.contrib.messages import get_messages
from django.core.checks import run_checks
from django.http import HttpResponse
from django.test import Client

from playground.audit.models import AuditEntry
from playground.sso import config
from playground.sso.models import Identity, MappedMembership
from playground.sso.people import MAPPING_ACTOR
from playground.teams.models import Membership, Role, Team
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, PASSWORD, OpenIDProvider, running_provider

pytestmark = pytest.mark.django_db
CALLBACK = "http://testserver/sso/callback/"


@pytest.fixture(scope="session")
def openid_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIDProvider]:
    with running_provider(tmp_path_factory.mktemp("oidc"), [CALLBACK]) as provider:
        yield provider


@pytest.fixture
def provider(openid_provider: OpenIDProvider, settings: Any) -> Iterator[OpenIDProvider]:
    """The provider, configured as this site's, with nobody in it yet."""
    openid_provider.reset()
    settings.OIDC_ISSUER = openid_provider.issuer
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "Example ID"
    settings.OIDC_ALLOWED_DOMAINS = []
    settings.OIDC_GROUP_TEAMS = ""
    yield openid_provider
    openid_provider.reset()


@pytest.fixture
def teams(db: None) -> dict[str, Team]:
    return {
        "north": Team.objects.create(name="Studio North", slug="north"),
        "south": Team.objects.create(name="Studio South", slug="south"),
    }


def authorize(client: Client, next_url: str = "") -> str:
    """Press "Sign in with …": the provider's authorization URL we are sent to."""
    response = client.get("/sso/start/" + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 302, response
    return str(response["Location"])


def at_provider(provider: OpenIDProvider, url: str, login: str, password: str = PASSWORD) -> str:
    """A person at the provider: follows its redirects, signs in on its page, and
    returns the URL the provider sends the browser back to (our callback)."""
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        response = browser.get(url)
        while True:
            location = response.headers.get("location")
            if response.status_code == 200 and "<form" in response.text:
                action = response.text.split('action="', 1)[1].split('"', 1)[0]
                response = browser.post(
                    urljoin(provider.issuer, action), data={"login": login, "password": password}
                )
                assert response.status_code in (302, 303), response.text
                continue
            assert location, (response.status_code, response.text[:300])
            target = urljoin(str(response.url), location)
            if target.startswith(CALLBACK):
                return target
            response = browser.get(target)


def come_back(client: Client, callback_url: str) -> HttpResponse:
    parts = urlsplit(callback_url)
    response: HttpResponse = client.get(parts.path, parse_qs(parts.query))
    return response


def sign_in(
    client: Client, provider: OpenIDProvider, login: str, next_url: str = ""
) -> HttpResponse:
    return come_back(client, at_provider(provider, authorize(client, next_url), login))


def said(response: HttpResponse) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def refused_with(response: HttpResponse, text: str) -> None:
    """Back on the login page, signed out, told why."""
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert "_auth_user_id" not in response.wsgi_request.session
    assert any(text in message for message in said(response)), said(response)


# --- The flow ---------------------------------------------------------------------------


def test_the_authorization_request_carries_state_nonce_and_an_s256_pkce_challenge(
    provider: OpenIDProvider,
) -> None:
    url = authorize(Client())
    assert url.startswith(f"{provider.issuer}/auth?")  # the endpoint discovery named
    query = parse_qs(urlsplit(url).query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == [CALLBACK]
    assert query["scope"] == ["openid email profile groups"]  # groups: the provider offers it
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert authorize(Client()) != url  # fresh for every sign-in


def test_the_first_sign_in_makes_the_account_and_the_next_finds_it_by_subject(
    provider: OpenIDProvider,
) -> None:
    provider.person("alice", email="alice@example.com", email_verified=True, given_name="Alice")
    client = Client()
    response = sign_in(client, provider, "alice", next_url="/invitations/")
    assert response.status_code == 302 and response["Location"] == "/invitations/"
    user = User.objects.get(username="alice")
    assert (user.email, user.first_name, user.has_usable_password()) == (
        "alice@example.com",
        "Alice",
        False,
    )
    assert client.session["_auth_user_id"] == str(user.pk)
    identity = Identity.objects.get(user=user)
    assert (identity.issuer, identity.subject) == (provider.issuer, "alice")

    # A new address at the provider: the same account (found by subject), updated.
    provider.person("alice", email="alice.smith@example.com", email_verified=True)
    response = sign_in(Client(), provider, "alice")
    assert response["Location"] == "/"
    assert User.objects.filter(sso_identities__subject="alice").count() == 1
    user.refresh_from_db()
    assert user.email == "alice.smith@example.com"


def test_a_first_sign_in_never_takes_over_a_password_account_of_the_same_name_or_address(
    provider: OpenIDProvider,
) -> None:
    local = User.objects.create_user("alice", "alice@example.com", "a-local-password")
    provider.person(
        "alice", email="alice@example.com", email_verified=True, preferred_username="alice"
    )
    client = Client()
    sign_in(client, provider, "alice")
    user = User.objects.get(sso_identities__subject="alice")
    assert user != local and user.username == "alice-2"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_person_signed_in_with_a_password_may_still_sign_in_through_the_provider(
    provider: OpenIDProvider, alice_client: Client
) -> None:
    provider.person("carol", email="carol@example.com")
    response = sign_in(alice_client, provider, "carol")
    assert response.status_code == 302
    assert alice_client.session["_auth_user_id"] == str(User.objects.get(username="carol").pk)


# --- Refusals: issuer, audience, nonce, state, PKCE --------------------------------------


def test_an_id_token_from_another_issuer_is_refused(provider: OpenIDProvider) -> None:
    provider.person("alice", email="alice@example.com")
    provider.tamper("iss")
    refused_with(sign_in(Client(), provider, "alice"), "names another issuer")
    assert not User.objects.exists()


def test_an_id_token_for_another_audience_is_refused(provider: OpenIDProvider) -> None:
    provider.person("alice", email="alice@example.com")
    provider.tamper("aud")
    refused_with(sign_in(Client(), provider, "alice"), "meant for another application")
    assert not User.objects.exists()


def test_an_id_token_of_another_sign_in_is_refused_by_its_nonce(provider: OpenIDProvider) -> None:
    provider.person("alice", email="alice@example.com")
    provider.tamper("nonce")
    refused_with(sign_in(Client(), provider, "alice"), "its nonce differs")
    assert not User.objects.exists()


def test_a_provider_whose_discovery_names_another_issuer_is_refused(
    tmp_path: Any, settings: Any
) -> None:
    # It answers at 127.0.0.1 but calls itself localhost: not the issuer we trust.
    with running_provider(tmp_path, [CALLBACK], issuer_host="localhost") as impostor:
        settings.OIDC_ISSUER = impostor.issuer.replace("localhost", "127.0.0.1")
        settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
        response = Client().get("/sso/start/")
    refused_with(response, "names another issuer than the one this site trusts")


def test_an_unreachable_provider_is_said_so(settings: Any) -> None:
    settings.OIDC_ISSUER = "http://127.0.0.1:9"  # discard: nothing listens
    settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    refused_with(Client().get("/sso/start/"), "could not be reached")


def test_a_callback_this_browser_did_not_start_is_refused(provider: OpenIDProvider) -> None:
    provider.person("alice", email="alice@example.com")
    callback_url = at_provider(provider, authorize(Client()), "alice")
    # Another browser (a forged or leaked link): no state of its own.
    refused_with(come_back(Client(), callback_url), "not started in this browser")
    # This browser, but a state it never made.
    client = Client()
    authorize(client)
    refused_with(client.get("/sso/callback/", {"code": "x", "state": "forged"}), "not started")
    assert not User.objects.exists()


def test_a_callback_used_twice_is_refused_the_second_time(provider: OpenIDProvider) -> None:
    provider.person("alice", email="alice@example.com")
    client = Client()
    callback_url = at_provider(provider, authorize(client), "alice")
    assert come_back(client, callback_url)["Location"] == "/"
    client.logout()
    refused_with(come_back(client, callback_url), "already used")


def test_the_provider_refuses_a_code_without_its_pkce_verifier(provider: OpenIDProvider) -> None:
    provider.person("alice", email="alice@example.com")
    client = Client()
    callback_url = at_provider(provider, authorize(client), "alice")
    session = client.session
    for entry in session["oidc_states"].values():  # as if someone else held the code
        entry["code_verifier"] = "x" * 64
    session.save()
    refused_with(come_back(client, callback_url), "invalid_grant")
    assert not User.objects.exists()


def test_a_sign_in_cancelled_at_the_provider_is_said_so(provider: OpenIDProvider) -> None:
    client = Client()
    state = parse_qs(urlsplit(authorize(client)).query)["state"][0]
    response = client.get("/sso/callback/", {"error": "access_denied", "state": state})
    refused_with(response, "Example ID did not sign you in (access_denied)")
    # Once only; and a link with an error from anywhere signs nobody out.
    response = client.get("/sso/callback/", {"error": "access_denied", "state": state})
    refused_with(response, "not started in this browser")


def test_an_error_link_from_elsewhere_signs_nobody_out(
    provider: OpenIDProvider, alice_client: Client
) -> None:
    response = alice_client.get("/sso/callback/", {"error": "access_denied", "state": "x"})
    assert response["Location"].startswith("/login/")
    assert alice_client.get("/invitations/").status_code == 200


def test_every_refusal_is_a_failed_sign_in_for_the_audit_log(
    provider: OpenIDProvider, settings: Any
) -> None:
    seen: list[dict[str, Any]] = []

    def heard(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
        seen.append(credentials)

    user_login_failed.connect(heard)
    try:
        provider.person("mallory", email="mallory@elsewhere.org")
        provider.tamper("aud")
        sign_in(Client(), provider, "mallory")
        provider.tamper("none")
        settings.OIDC_ALLOWED_DOMAINS = ["example.com"]
        sign_in(Client(), provider, "mallory")
    finally:
        user_login_failed.disconnect(heard)
    assert seen == [
        {"username": "", "method": "sso"},
        {"username": "mallory@elsewhere.org", "method": "sso"},
    ]


# --- The e-mail domain allow-list ---------------------------------------------------------


def test_only_verified_addresses_at_the_allowed_domains_get_in(
    provider: OpenIDProvider, settings: Any
) -> None:
    settings.OIDC_ALLOWED_DOMAINS = ["example.com", "@Example.org"]
    provider.person("alice", email="alice@EXAMPLE.com", email_verified=True)
    provider.person("olga", email="olga@example.org")  # no email_verified claim: trusted
    provider.person("mallory", email="mallory@elsewhere.org", email_verified=True)
    provider.person("sub", email="sam@mail.example.com", email_verified=True)
    provider.person("unverified", email="eve@example.com", email_verified=False)
    provider.person("nomail")
    assert sign_in(Client(), provider, "alice")["Location"] == "/"
    assert sign_in(Client(), provider, "olga")["Location"] == "/"
    refused_with(
        sign_in(Client(), provider, "mallory"),
        "mallory@elsewhere.org cannot sign in here: this site admits addresses at "
        "example.com, example.org only.",
    )
    refused_with(sign_in(Client(), provider, "sub"), "sam@mail.example.com cannot sign in")
    refused_with(sign_in(Client(), provider, "unverified"), "is not verified")
    refused_with(sign_in(Client(), provider, "nomail"), "has no e-mail address")
    assert sorted(User.objects.values_list("username", flat=True)) == ["alice", "olga"]


# --- Groups → teams and roles, at every sign-in ------------------------------------------


def test_groups_give_teams_and_roles_at_every_sign_in(
    provider: OpenIDProvider, settings: Any, teams: dict[str, Team]
) -> None:
    settings.OIDC_GROUP_TEAMS = (
        "designers=north:member; leads=north:admin; auditors=south:viewer; "
        "CN=Ghosts,OU=Groups=nowhere:member"
    )
    founder = User.objects.create_user("founder")
    Membership.objects.create(user=founder, team=teams["north"], role=Role.ADMIN)

    def roles() -> dict[str, str]:
        return dict(
            Membership.objects.filter(user__sso_identities__subject="alice").values_list(
                "team__slug", "role"
            )
        )

    provider.person("alice", email="alice@example.com", groups=["designers", "leads", "auditors"])
    sign_in(Client(), provider, "alice")
    assert roles() == {"north": "admin", "south": "viewer"}  # the higher role of two groups

    provider.person("alice", email="alice@example.com", groups=["designers"])
    sign_in(Client(), provider, "alice")
    assert roles() == {"north": "member"}  # out of auditors: out of south

    provider.person("alice", email="alice@example.com", groups=["CN=Ghosts,OU=Groups"])
    sign_in(Client(), provider, "alice")
    assert roles() == {}  # out of designers: out of north; the team "nowhere" does not exist
    assert Membership.objects.filter(user=founder).count() == 1

    # Each change in the team's audit log, by the mapping, with the role before → after.
    changes = AuditEntry.objects.filter(target="alice", actor_name=MAPPING_ACTOR).order_by("pk")
    assert [(e.action, e.team.slug, e.changes) for e in changes if e.team] == [
        ("member_added", "north", {"role": [None, "admin"]}),
        ("member_added", "south", {"role": [None, "viewer"]}),
        ("role_changed", "north", {"role": ["admin", "member"]}),
        ("member_removed", "south", {"role": ["viewer", None]}),
        ("member_removed", "north", {"role": ["member", None]}),
    ]


def test_the_mapping_leaves_memberships_made_by_hand_alone(
    provider: OpenIDProvider, settings: Any, teams: dict[str, Team]
) -> None:
    settings.OIDC_GROUP_TEAMS = "designers=north:admin"
    provider.person("alice", email="alice@example.com", groups=[])
    sign_in(Client(), provider, "alice")
    alice = User.objects.get(username="alice")
    by_hand = Membership.objects.create(user=alice, team=teams["north"], role=Role.VIEWER)

    provider.person("alice", email="alice@example.com", groups=["designers"])
    sign_in(Client(), provider, "alice")
    by_hand.refresh_from_db()
    assert by_hand.role == Role.VIEWER and not MappedMembership.objects.exists()

    provider.person("alice", email="alice@example.com", groups=[])
    sign_in(Client(), provider, "alice")
    assert Membership.objects.filter(pk=by_hand.pk).exists()


def test_a_team_keeps_its_last_admin_when_the_group_goes(
    provider: OpenIDProvider, settings: Any, teams: dict[str, Team]
) -> None:
    settings.OIDC_GROUP_TEAMS = "leads=north:admin"
    provider.person("alice", email="alice@example.com", groups=["leads"])
    sign_in(Client(), provider, "alice")
    provider.person("alice", email="alice@example.com", groups=[])
    sign_in(Client(), provider, "alice")
    assert list(teams["north"].admins().values_list("user__username", flat=True)) == ["alice"]


def test_a_switched_off_account_is_signed_out_and_cannot_sign_in(
    provider: OpenIDProvider,
) -> None:
    provider.person("alice", email="alice@example.com")
    client = Client()
    sign_in(client, provider, "alice")
    assert client.get("/invitations/").status_code == 200
    User.objects.filter(username="alice").update(is_active=False)
    assert client.get("/invitations/")["Location"].startswith("/login/")
    refused_with(sign_in(Client(), provider, "alice"), "switched off here")
    # Both in the audit log, through Django's sign-in signals.
    assert list(
        AuditEntry.objects.filter(actor__username="alice")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["signed_in", "sign_in_failed"]


def test_the_group_mapping_is_read_as_documented(settings: Any) -> None:
    settings.OIDC_GROUP_TEAMS = "a=north:admin;b=north;CN=x,OU=y=south:viewer;"
    assert [(r.group, r.team, r.role) for r in config.group_rules()] == [
        ("a", "north", Role.ADMIN),
        ("b", "north", Role.MEMBER),
        ("CN=x,OU=y", "south", Role.VIEWER),
    ]
    settings.OIDC_GROUP_TEAMS = "a=north:owner"
    with pytest.raises(config.BadGroupMapping):
        config.group_rules()
    assert [m.id for m in run_checks() if m.id.startswith("sso.")] == ["sso.E001"]
    settings.OIDC_GROUP_TEAMS = ""
    settings.OIDC_ISSUER, settings.OIDC_CLIENT_ID = "http://login.example.com", ""
    assert [m.id for m in run_checks() if m.id.startswith("sso.")] == ["sso.E002", "sso.W002"]


# --- The login page and the password switch ----------------------------------------------


def test_without_an_issuer_the_login_page_is_the_password_form_alone(settings: Any) -> None:
    settings.OIDC_ISSUER = ""
    settings.PASSWORD_LOGIN = False  # ignored: there would be no way in
    page = Client().get("/login/").content.decode()
    assert 'name="password"' in page and "Sign in with" not in page
    assert Client().get("/sso/start/").status_code == 404


def test_the_login_page_offers_the_provider_beside_the_password_form(
    provider: OpenIDProvider,
) -> None:
    page = Client().get("/login/?next=/invitations/").content.decode()
    assert "Sign in with Example ID" in page
    assert 'href="/sso/start/?next=/invitations/"' in page
    assert 'name="password"' in page


def test_password_login_switched_off_hides_the_form_and_refuses_passwords(
    provider: OpenIDProvider, settings: Any
) -> None:
    settings.PASSWORD_LOGIN = False
    User.objects.create_superuser("root", "root@example.com", "a-root-password")
    page = Client().get("/login/").content.decode()
    assert "Sign in with Example ID" in page and 'name="password"' not in page
    client = Client()
    response = client.post("/login/", {"username": "root", "password": "a-root-password"})
    assert response.status_code == 302 and "_auth_user_id" not in client.session
    assert any("Password sign-in is switched off" in m for m in said(response))
    # The admin's login too.
    response = client.post(
        "/admin/login/", {"username": "root", "password": "a-root-password", "next": "/admin/"}
    )
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    # Switched back on, the same password works.
    settings.PASSWORD_LOGIN = True
    response = client.post("/login/", {"username": "root", "password": "a-root-password"})
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_both_ends_answer_anyone_signed_in_or_not(
    provider: OpenIDProvider, alice_client: Client
) -> None:
    for client in (Client(), alice_client):
        assert client.get("/sso/start/")["Location"].startswith(provider.issuer)
        response = client.get("/sso/callback/", {"code": "x", "state": "y"})
        assert response["Location"].startswith("/login/")
        assert any("not started" in message for message in said(response))


def test_superusers_see_identities_and_mapped_memberships_read_only(
    provider: OpenIDProvider,
) -> None:
    provider.person("alice", email="alice@example.com")
    sign_in(Client(), provider, "alice")
    root = Client()
    root.force_login(User.objects.create_superuser("root", "root@example.com", "x"))
    page = root.get("/admin/sso/identity/")
    assert page.status_code == 200 and "alice@example.com" in page.content.decode()
    assert root.get("/admin/sso/identity/add/").status_code == 403
    assert root.get("/admin/sso/mappedmembership/").status_code == 200
