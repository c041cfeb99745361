"""API keys: stored encrypted, write-only, rotated; the key that pays and what happens
when EvoLink refuses one. Against the simulator over real HTTP."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client

from playground.billing import crypto
from playground.billing.models import ApiKey, payers_for
from playground.billing.tasks import check_credits
from playground.evolink.simulator import Simulator
from playground.generations.models import Generation, State
from playground.teams.models import Team
from tests.conftest import logged_in
from tests.factories import make_generation, stored_key
from tests.queue import drain, run_to_the_end

pytestmark = pytest.mark.django_db

SECRET = "sk-evo-REALLYSECRET-4f9a2b7c"


@pytest.fixture
def root(db: None) -> User:
    return User.objects.create_superuser("root", "root@example.com", "x")


@pytest.fixture
def only_known_keys(fast_jobs: Simulator, settings) -> Iterator[Simulator]:  # type: ignore[no-untyped-def]
    """The simulator answers 401 to any key but SECRET, and there is no env fallback."""
    settings.EVOLINK_API_KEY = ""
    fast_jobs.api_keys = frozenset({SECRET})
    yield fast_jobs
    fast_jobs.api_keys = None


def queued_job(owner: User) -> Generation:
    return make_generation(owner, state=State.QUEUED, prompt="a key test")


# --- Write-only secrets ---------------------------------------------------------------


def test_the_admin_add_form_takes_a_secret_that_is_never_shown_again(
    root: User, team_a: Team
) -> None:
    admin = logged_in(root)
    form = admin.get("/admin/billing/apikey/add/").content.decode()
    assert 'name="secret"' in form and 'type="password"' in form
    response = admin.post(
        "/admin/billing/apikey/add/",
        {"label": "Main", "secret": SECRET, "team": team_a.pk, "priority": 1, "enabled": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    key = ApiKey.objects.get()
    assert key.reveal() == SECRET and key.created_by == root

    # Not in the database column, nor on any page that shows the key.
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_encrypted, secret_last4 FROM billing_apikey")
        row = cursor.fetchone()
    assert SECRET not in row[0] and "REALLYSECRET" not in row[0] and row[1] == "2b7c"
    pages = [
        admin.get("/admin/billing/apikey/").content.decode(),
        admin.get(f"/admin/billing/apikey/{key.pk}/change/").content.decode(),
    ]
    for page in pages:
        assert "REALLYSECRET" not in page and "sk-evo-…2b7c" in page
    assert "REALLYSECRET" not in str(key) and "REALLYSECRET" not in repr(key)


def test_a_rejected_admin_form_does_not_echo_the_secret(root: User) -> None:
    page = logged_in(root).post(
        "/admin/billing/apikey/add/", {"label": "", "secret": SECRET, "priority": 1}
    )
    assert page.status_code == 200 and "REALLYSECRET" not in page.content.decode()


def test_a_secret_can_be_replaced_but_an_empty_field_keeps_it(root: User, team_a: Team) -> None:
    key = stored_key("Main", SECRET, team_a)
    admin = logged_in(root)
    data = {"label": "Main", "team": team_a.pk, "priority": 1, "enabled": "on", "secret": ""}
    admin.post(f"/admin/billing/apikey/{key.pk}/change/", data)
    assert ApiKey.objects.get().reveal() == SECRET
    admin.post(
        f"/admin/billing/apikey/{key.pk}/change/", {**data, "secret": "sk-evo-replacement-9999"}
    )
    key.refresh_from_db()
    assert key.reveal() == "sk-evo-replacement-9999" and key.masked == "sk-evo-…9999"


def test_team_admins_manage_their_keys_in_the_app_and_never_see_a_secret(
    ada: User, ada_client: Client, team_a: Team
) -> None:
    stored_key("Shared", "sk-evo-SHAREDSECRET-0000", None)
    response = ada_client.post(
        "/t/a/keys/add/", {"label": "Team A", "secret": SECRET, "priority": 2, "enabled": "on"}
    )
    assert response.status_code == 302
    key = ApiKey.objects.get(team=team_a)
    assert key.created_by == ada and key.reveal() == SECRET
    page = ada_client.get("/t/a/keys/").content.decode()
    assert "sk-evo-…2b7c" in page and "sk-evo-…0000" in page
    assert "REALLYSECRET" not in page and "SHAREDSECRET" not in page
    # The shared key is the site administrators': not changeable here.
    shared = ApiKey.objects.get(team=None)
    assert ada_client.post(f"/t/a/keys/{shared.pk}/", {"label": "mine"}).status_code == 404
    ada_client.post(f"/t/a/keys/{key.pk}/", {"label": "Renamed", "priority": 5})  # off
    key.refresh_from_db()
    assert (key.label, key.priority, key.enabled, key.reveal()) == ("Renamed", 5, False, SECRET)


def test_rotation_reencrypts_every_secret_under_the_newest_key(settings, team_a: Team) -> None:  # type: ignore[no-untyped-def]
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PLAYGROUND_ENCRYPTION_KEYS = [old]
    key = stored_key("Main", SECRET, team_a)
    before = ApiKey.objects.get().secret_encrypted

    settings.PLAYGROUND_ENCRYPTION_KEYS = [new, old]
    assert ApiKey.objects.get().reveal() == SECRET  # both keys still decrypt
    call_command("reencrypt_api_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    after = ApiKey.objects.get().secret_encrypted
    assert after != before

    settings.PLAYGROUND_ENCRYPTION_KEYS = [new]  # the old key can go
    assert ApiKey.objects.get(pk=key.pk).reveal() == SECRET
    settings.PLAYGROUND_ENCRYPTION_KEYS = [old]
    with pytest.raises(crypto.InvalidToken):
        ApiKey.objects.get(pk=key.pk).reveal()


# --- Which key pays -------------------------------------------------------------------


def test_the_teams_keys_by_priority_then_the_shared_ones_then_the_environment(
    settings,
    team_a: Team,
    team_b: Team,  # type: ignore[no-untyped-def]
) -> None:
    settings.EVOLINK_API_KEY = "sk-evo-from-the-environment"
    second = stored_key("A2", "sk-evo-a2-000000002", team_a, priority=5)
    first = stored_key("A1", "sk-evo-a1-000000001", team_a, priority=1)
    stored_key("A off", "sk-evo-off-00000003", team_a, priority=0, enabled=False)
    stored_key("B", "sk-evo-b-0000000004", team_b, priority=0)
    shared = stored_key("Shared", "sk-evo-shared-00005", None, priority=0)
    payers = payers_for(team_a)
    assert [p.key for p in payers] == [first, second, shared, None]
    assert payers[-1].secret == "sk-evo-from-the-environment"


def test_the_job_records_the_key_that_paid(
    alice: User, team_a: Team, only_known_keys: Simulator
) -> None:
    key = stored_key("Main", SECRET, team_a)
    job = queued_job(alice)
    drain_submit(job)
    job.refresh_from_db()
    assert job.state == State.RUNNING and job.api_key == key
    key.refresh_from_db()
    assert key.last_used_at is not None
    # Polling reads the task with the same key (the simulator only knows SECRET).
    run_to_the_end(job)
    job.refresh_from_db()
    assert job.state == State.COMPLETED
    # The charge EvoLink reported on completion (all images returned: the hold).
    assert job.credits_charged is not None and job.credits_charged == job.credits_reserved


def drain_submit(job: Generation) -> None:
    from playground.generations import jobs

    assert jobs.submit(job.pk) in {"submitted", "failed"}


def test_a_401_key_is_switched_off_and_the_next_key_pays(
    alice: User, team_a: Team, only_known_keys: Simulator
) -> None:
    wrong = stored_key("Old", "sk-evo-revoked-00001", team_a, priority=1)
    good = stored_key("Shared", SECRET, None)
    job = queued_job(alice)
    drain_submit(job)
    job.refresh_from_db()
    assert job.state == State.RUNNING and job.api_key == good
    wrong.refresh_from_db()
    assert not wrong.enabled and wrong.disabled_automatically_at and "API key" in wrong.last_error
    # One refused POST (nothing created), one task.
    assert only_known_keys.request_count("POST /v1/images/generations") == 2
    assert only_known_keys.tasks_created == 1


@pytest.mark.parametrize(("status", "switched_off"), [(402, True), (403, False)])
def test_402_switches_a_key_off_403_only_records_it(
    alice: User, team_a: Team, only_known_keys: Simulator, status: int, switched_off: bool
) -> None:
    first = stored_key("First", SECRET, team_a, priority=1)
    second = stored_key("Second", SECRET.replace("4f9a", "4f9b"), team_a, priority=2)
    only_known_keys.api_keys = frozenset({first.reveal(), second.reveal()})
    only_known_keys.fail_creates(status, 1)
    job = queued_job(alice)
    drain_submit(job)
    job.refresh_from_db()
    first.refresh_from_db()
    assert job.api_key == second and job.state == State.RUNNING
    assert first.enabled is not switched_off and first.last_error


def test_when_every_key_is_refused_the_job_fails_uncharged_and_says_whom_to_ask(
    alice: User, team_a: Team, only_known_keys: Simulator
) -> None:
    stored_key("Old", "sk-evo-revoked-00001", team_a)
    job = queued_job(alice)
    drain_submit(job)
    job.refresh_from_db()
    assert job.state == State.FAILED and job.error_code == "keys_refused"
    assert "nothing was charged" in job.error_message and "team admin" in job.error_message
    assert "revoked" not in job.error_message  # names the key by label and mask only
    assert only_known_keys.tasks_created == 0


def test_without_any_key_nothing_is_sent(alice: User, only_known_keys: Simulator) -> None:
    job = queued_job(alice)
    drain_submit(job)
    job.refresh_from_db()
    assert (job.state, job.error_code) == (State.FAILED, "no_api_key")
    assert only_known_keys.request_count("POST /v1/images/generations") == 0


# --- Balance checks and warnings ------------------------------------------------------


def test_check_reads_the_credits_in_a_worker_and_shows_them(
    ada: User,
    ada_client: Client,
    team_a: Team,
    only_known_keys: Simulator,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    key = stored_key("Main", SECRET, team_a, low_balance_threshold=10**9)
    with django_capture_on_commit_callbacks(execute=True):
        ada_client.post(f"/t/a/keys/{key.pk}/check/")
    assert "checking…" in ada_client.get("/t/a/keys/").content.decode()
    assert drain() == ["check_credits"]
    key.refresh_from_db()
    assert key.account_credits is not None and key.checked_at is not None
    page = ada_client.get("/t/a/keys/").content.decode()
    assert "credits left (read" in page and "below the warning threshold" in page
    # Below its threshold: the team's admins are told in the studio, members are not.
    assert "is running low" in ada_client.get("/t/a/").content.decode()


def test_a_switched_off_key_is_shown_to_admins_in_the_studio(
    alice_client: Client, ada_client: Client, team_a: Team, only_known_keys: Simulator
) -> None:
    key = stored_key("Old", "sk-evo-revoked-00001", team_a)
    key.record_refusal(401, "Invalid or missing API key.")
    assert (
        "was switched off: Invalid or missing API key." in ada_client.get("/t/a/").content.decode()
    )
    member_page = alice_client.get("/t/a/").content.decode()
    # The admin's warning names the key and the reason; a member reads only that no key
    # can pay, and whom to ask (beside a disabled Generate).
    assert "was switched off" not in member_page and "Invalid or missing" not in member_page
    assert "No key can pay for this team: ask an admin." in member_page


def test_a_refused_check_records_the_reason_and_disables_nothing(
    team_a: Team, only_known_keys: Simulator
) -> None:
    key = stored_key("Old", "sk-evo-revoked-00001", team_a)
    assert check_credits(key.pk) == "refused"
    key.refresh_from_db()
    assert key.enabled and key.last_error and key.account_credits is None


# --- The secret in logs ---------------------------------------------------------------


def test_a_whole_job_logs_nothing_of_the_secret(
    alice: User,
    alice_client: Client,
    team_a: Team,
    only_known_keys: Simulator,
    caplog,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    caplog.set_level(logging.DEBUG)
    stored_key("Wrong first", "sk-evo-WRONGSECRET-1111", team_a, priority=0)
    stored_key("Main", SECRET, team_a, priority=1)
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(
            "/t/a/",
            {
                "model": "gpt-image-1",
                "prompt": "log me",
                "size": "1024x1024",
                "quality": "low",
                "n": "1",
                "client_token": str(uuid.uuid4()),
            },
        )
    drain()
    job = Generation.objects.get()
    run_to_the_end(job)
    check_credits(ApiKey.objects.get(label="Main").pk)
    assert Generation.objects.get().state == State.COMPLETED
    assert caplog.records, "the run logged something"
    for secret in ("REALLYSECRET", "WRONGSECRET"):
        assert secret not in caplog.text
        assert secret not in Generation.objects.get().error_message
        assert secret not in str(Generation.objects.get().request_payload)


def test_error_reports_hide_a_posted_secret(ada: User, team_a: Team, root: User) -> None:
    """Django's error reports (e-mails, the debug page) filter what views mark."""
    from django.test import RequestFactory
    from django.views.debug import SafeExceptionReporterFilter

    from playground.billing import views
    from playground.billing.admin import ApiKeyAdmin

    seen = {}

    def capture(*args, **kwargs):  # type: ignore[no-untyped-def]
        # Stands in for the form: an error in the middle of handling the secret.
        seen["post"] = SafeExceptionReporterFilter().get_post_parameters(request)
        raise RuntimeError("stop")

    factory = RequestFactory()
    request = factory.post("/t/a/keys/add/", {"label": "x", "secret": SECRET})
    request.user, request.session = ada, {}
    original = views.TeamKeyForm
    views.TeamKeyForm = capture  # type: ignore[assignment,misc]
    try:
        with pytest.raises(RuntimeError):
            views.key_add(request, team="a")
    finally:
        views.TeamKeyForm = original  # type: ignore[misc]
    assert seen["post"]["secret"] != SECRET and "*" in seen["post"]["secret"]
    assert ApiKeyAdmin.add_view.__wrapped__  # the admin views are wrapped the same way
    assert "REALLYSECRET" not in repr(payers_for_first(team_a))


def payers_for_first(team: Team):  # type: ignore[no-untyped-def]
    stored_key("Main", SECRET, team)
    return payers_for(team)[0]
