"""Notifications: notify() and its scope, the bell, the job_finished signal, e-mails
(batched, opted in or out per kind, in the reader's language)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from playground.generations.models import Generation, State
from playground.notifications import emails, inbox, receivers
from playground.notifications.events import notify
from playground.notifications.models import Kind, Notification
from playground.notifications.preferences import email_choices, set_email_choices
from playground.teams.models import Profile, Team
from tests.factories import fake_result, make_generation

pytestmark = pytest.mark.django_db


def mention(to: User, by: User, job: Generation, text: str = "look @alice") -> Notification:
    made = notify(to, Kind.MENTION, team=job.team, actor=by, generation=job, excerpt=text)
    assert made is not None
    return made


# --- notify() -------------------------------------------------------------------------


def test_it_stores_the_kind_and_its_parameters_not_a_sentence(
    alice: User, bob: User, team_a: Team
) -> None:
    job = make_generation(alice, prompt="a fox")
    image = fake_result(job)
    made = notify(
        alice,
        Kind.REVIEW_DECIDED,
        team=team_a,
        actor=bob,
        image=image,
        detail="approved",
        excerpt="  nice\n\n  work  " + "x" * 300,
    )
    assert made is not None
    assert (made.kind, made.detail, made.generation, made.image) == (
        "review_decided",
        "approved",
        job,
        image,
    )
    # Whitespace folded, at most 200 characters.
    assert made.excerpt.startswith("nice work x") and len(made.excerpt) == 200


def test_nobody_is_told_of_their_own_act(alice: User, team_a: Team) -> None:
    job = make_generation(alice)
    assert notify(alice, Kind.MENTION, team=team_a, actor=alice, generation=job) is None


def test_nobody_learns_of_a_job_they_may_not_see(
    alice: User, bob: User, charlie: User, team_a: Team
) -> None:
    private = make_generation(alice, private=True)
    assert notify(bob, Kind.MENTION, team=team_a, actor=alice, generation=private) is None
    shared = make_generation(alice)
    assert notify(charlie, Kind.MENTION, team=team_a, actor=alice, generation=shared) is None
    # A job of another team than the one named: refused, not mislabelled.
    other = Team.objects.create(name="Other", slug="other")
    assert notify(bob, Kind.MENTION, team=other, actor=alice, generation=shared) is None
    assert Notification.objects.count() == 0


def test_a_notification_goes_when_its_job_turns_only_me(
    alice: User, bob: User, bob_client: Client
) -> None:
    job = make_generation(alice)
    mention(bob, alice, job)
    assert inbox.unread_count(bob) == 1
    job.set_private(True)
    assert inbox.unread_count(bob) == 0
    found = Notification.objects.get()
    assert bob_client.get(f"/notifications/{found.pk}/").status_code == 404


# --- the bell -------------------------------------------------------------------------


def test_the_header_bell_is_named_with_the_unread_count(
    alice: User, bob: User, alice_client: Client
) -> None:
    html = alice_client.get("/notifications/").content.decode()
    assert "Notifications (0 unread)" in html
    job = make_generation(alice)
    mention(alice, bob, job)
    mention(alice, bob, job)
    html = alice_client.get("/t/a/").content.decode()
    assert 'data-testid="bell"' in html and "Notifications (2 unread)" in html


def test_the_live_refresh_carries_the_count_even_when_nothing_changed(
    alice: User, bob: User, alice_client: Client
) -> None:
    job = make_generation(alice, state=State.RUNNING)
    html = alice_client.get("/t/a/history/").content.decode()
    url = html.split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    headers = {"HX-Request": "true", "HX-Trigger": "history"}
    mention(alice, bob, job)
    # The history's empty 204 costs one COUNT more than before: the bell's.
    with CaptureQueriesContext(connection) as queries:
        response = alice_client.get(url, headers=headers)
    assert response.status_code == 204
    assert len(queries) == 5, [q["sql"][:60] for q in queries]
    assert "notifications_notification" in queries[-1]["sql"]
    event = json.loads(response["HX-Trigger"])["notifications-changed"]
    assert event == {"unread": 1, "label": "Notifications (1 unread)"}
    # A request the person made (not a refresh) is not charged for it.
    assert "HX-Trigger" not in alice_client.get(url, headers={"HX-Request": "true"})


def test_the_count_is_in_the_readers_language_and_plain_ascii(
    alice: User, alice_client: Client
) -> None:
    Profile.objects.update_or_create(user=alice, defaults={"language": "ja"})
    job = make_generation(alice, state=State.RUNNING)
    response = alice_client.get(
        f"/generations/{job.public_id}/",
        headers={"HX-Request": "true", "HX-Trigger": "generation-detail"},
    )
    header = response["HX-Trigger"]
    assert header.isascii()
    assert json.loads(header)["notifications-changed"]["unread"] == 0


def test_the_panel_lists_marks_read_and_marks_all_read(
    alice: User, bob: User, alice_client: Client
) -> None:
    job = make_generation(alice, number=7)
    first = mention(alice, bob, job, "see <b>this</b>")
    mention(alice, bob, job)
    panel = alice_client.get(
        "/notifications/", headers={"HX-Request": "true", "HX-Target": "bell-panel"}
    )
    html = panel.content.decode()
    assert html.lstrip().startswith('<div id="bell-panel"')
    assert "bob mentioned you on job #7" in html
    assert "&lt;b&gt;this&lt;/b&gt;" in html and "<b>this" not in html
    assert json.loads(panel["HX-Trigger"])["notifications-changed"]["unread"] == 2
    answer = alice_client.post(
        f"/notifications/{first.pk}/read/",
        headers={"HX-Request": "true", "HX-Target": "bell-panel"},
    )
    assert json.loads(answer["HX-Trigger"])["notifications-changed"]["unread"] == 1
    assert alice_client.post("/notifications/read/").status_code == 302
    assert inbox.unread_count(alice) == 0


def test_opening_one_reads_it_and_lands_on_its_image(
    alice: User, bob: User, alice_client: Client, bob_client: Client
) -> None:
    job = make_generation(alice)
    image = fake_result(job, index=2)
    made = notify(alice, Kind.REVIEW_REQUESTED, team=job.team, actor=bob, image=image)
    assert made is not None
    # Someone else's notification is a 404, not a hint that it exists.
    assert bob_client.get(f"/notifications/{made.pk}/").status_code == 404
    assert bob_client.post(f"/notifications/{made.pk}/read/").status_code == 404
    response = alice_client.get(f"/notifications/{made.pk}/")
    assert response["Location"] == f"/generations/{job.public_id}/#image-2"
    assert inbox.unread_count(alice) == 0


# --- job_finished ---------------------------------------------------------------------


def long_running(alice: User) -> Generation:
    started = timezone.now() - receivers.LONG_JOB - timedelta(seconds=1)
    return make_generation(alice, state=State.RUNNING, created_at=started)


def test_a_long_job_that_ends_tells_its_maker_once(
    alice: User,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    job = long_running(alice)
    with django_capture_on_commit_callbacks(execute=True) as sent:
        assert Generation.objects.end(job.pk, State.RUNNING, State.FAILED, "x", "broke")
        # Lost the compare-and-set: no second signal.
        assert not Generation.objects.end(job.pk, State.RUNNING, State.FAILED, "x", "broke")
    assert len(sent) == 1
    made = Notification.objects.get()
    assert (made.recipient, made.kind, made.detail) == (alice, "job_finished", "failed")
    assert made.actor is None
    # Sent again (a resubmitted job ends twice): still one.
    receivers.on_job_finished(None, generation_id=job.pk, state=State.FAILED)
    assert Notification.objects.count() == 1


def test_a_short_or_cancelled_job_tells_nobody(
    alice: User,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    short = make_generation(alice, state=State.RUNNING)
    queued = long_running(alice)
    Generation.objects.filter(pk=queued.pk).update(state=State.QUEUED)
    with django_capture_on_commit_callbacks(execute=True):
        Generation.objects.end(short.pk, State.RUNNING, State.COMPLETED, "", "")
        assert queued.cancel(by=alice)
    assert Notification.objects.count() == 0


# --- e-mail ---------------------------------------------------------------------------


def test_emails_are_batched_one_per_person_per_ten_minutes(alice: User, bob: User) -> None:
    job = make_generation(alice, number=3)
    now = timezone.now()
    mention(alice, bob, job, "first")
    mention(alice, bob, job, "second")
    assert emails.send_due(now) == 1
    (sent,) = mail.outbox
    assert sent.to == ["alice@example.com"]
    assert sent.subject == "2 new notifications in the GPT Image playground"
    assert "“first”" in sent.body and "“second”" in sent.body
    assert f"http://127.0.0.1:8000/generations/{job.public_id}/" in sent.body
    # Nothing more is due; a new one waits out the ten minutes, gathering others.
    assert emails.send_due(now + timedelta(minutes=1)) == 0
    mention(alice, bob, job, "third")
    assert emails.send_due(now + timedelta(minutes=2)) == 0
    mention(alice, bob, job, "fourth")
    assert emails.send_due(now + timedelta(minutes=9, seconds=59)) == 0
    assert emails.send_due(now + timedelta(minutes=10)) == 1
    assert len(mail.outbox) == 2
    later = mail.outbox[1]
    assert "third" in later.body and "fourth" in later.body and "first" not in later.body


def test_a_person_who_opted_out_of_a_kind_gets_no_email_of_it(alice: User, bob: User) -> None:
    assert email_choices(alice)[Kind.MENTION] and not email_choices(alice)[Kind.JOB_FINISHED]
    set_email_choices(alice, {Kind.REPLY})
    job = make_generation(alice)
    mention(alice, bob, job)
    assert emails.send_due() == 0 and mail.outbox == []
    # Marked done: an opt-in later does not send the old ones.
    set_email_choices(alice, {Kind.REPLY, Kind.MENTION})
    assert emails.send_due() == 0
    notify(alice, Kind.REPLY, team=job.team, actor=bob, generation=job)
    assert emails.send_due() == 1
    assert "replied in a thread you wrote in" in mail.outbox[0].body


def test_what_was_read_in_the_bell_is_not_emailed(alice: User, bob: User) -> None:
    mention(alice, bob, make_generation(alice))
    inbox.mark_read(alice)
    assert emails.send_due() == 0
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 0


def test_the_email_is_in_the_readers_language(alice: User) -> None:
    Profile.objects.update_or_create(user=alice, defaults={"language": "ja"})
    job = make_generation(alice, state=State.TIMED_OUT)
    set_email_choices(alice, {Kind.JOB_FINISHED})
    notify(alice, Kind.JOB_FINISHED, team=job.team, generation=job, detail=State.TIMED_OUT)
    assert emails.send_due() == 1
    # The job's state as the Japanese catalogue has it (already translated).
    assert "確認打ち切り" in mail.outbox[0].body
    assert emails.language_of(alice) == "ja"


def test_the_settings_page_keeps_the_choice_per_kind(alice: User, alice_client: Client) -> None:
    page = alice_client.get("/notifications/settings/").content.decode()
    assert page.count('type="checkbox" name="email"') == len(Kind.values)
    response = alice_client.post(
        "/notifications/settings/", {"email": ["job_finished", "nonsense"]}
    )
    assert response.status_code == 200
    assert email_choices(alice) == {
        "mention": False,
        "reply": False,
        "review_requested": False,
        "review_decided": False,
        "job_finished": True,
    }


def test_the_email_schedule_is_declared() -> None:
    from playground.lib import schedules

    names = {schedule.name: schedule for schedule in schedules.declared()}
    assert names["playground-notification-emails"].func is emails.send_due


def test_an_archive_that_completes_a_long_job_tells_its_maker(
    alice: User,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    from playground.generations import jobs

    job = long_running(alice)
    Generation.objects.filter(pk=job.pk).update(state=State.ARCHIVING, lease_holder="w1")
    with django_capture_on_commit_callbacks(execute=True) as sent:
        # A retry's backoff keeps the job archiving: no end yet.
        assert jobs._archive_ends(job.pk, "w1", lease=timedelta(seconds=30), download_attempts=1)
        assert sent == []
        assert jobs._archive_ends(
            job.pk, "w1", lease=None, state=State.COMPLETED, finished_at=timezone.now()
        )
    assert len(sent) == 1
    made = Notification.objects.get()
    assert (made.kind, made.detail) == ("job_finished", "completed")


def test_a_failing_receiver_never_fails_the_worker(
    alice: User,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    from playground.generations.signals import job_finished

    def broken(**_kwargs: object) -> None:
        raise RuntimeError("boom")

    job_finished.connect(broken, dispatch_uid="test-broken")
    try:
        job = long_running(alice)
        with django_capture_on_commit_callbacks(execute=True):
            assert Generation.objects.end(job.pk, State.RUNNING, State.TIMED_OUT, "x", "late")
    finally:
        job_finished.disconnect(dispatch_uid="test-broken")
    assert Notification.objects.filter(kind=Kind.JOB_FINISHED).count() == 1
