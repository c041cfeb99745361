"""Who may reach what: every URL pattern, for every persona.

Personas (tests/conftest.py): alice made the jobs (member of team A), bob is her
teammate, vera a viewer and ada the admin of team A; charlie belongs to team B only;
anonymous is signed in nowhere. A person outside a team gets 404 for everything of
the team's; a viewer gets 403 for anything that would generate, delete or change.

`test_every_url_pattern_has_an_access_case` enumerates urls.py: a new view cannot be
added without saying here who may reach it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from PIL import Image

from playground.billing.models import ApiKey
from playground.generations import callbacks, references
from playground.generations.jobs import save_result
from playground.generations.models import Generation, State
from playground.teams.models import Invitation, Membership, Team
from tests.conftest import logged_in, member
from tests.factories import make_generation, stored_key

pytestmark = pytest.mark.django_db

PERSONAS = ("creator", "teammate", "viewer", "admin", "stranger", "anonymous")
LOGIN = "login"  # a redirect to the login page
ALL_IN_A = ("creator", "teammate", "viewer", "admin")


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class World:
    users: dict[str, User]
    team: Team
    job: Generation  # alice's, shared with the team
    private_job: Generation  # alice's "Only me"
    stopped_job: Generation  # alice's, timed out (for "Check again")
    bob_membership: Membership
    invitation: Invitation
    invitation_token: str
    key: ApiKey

    def reference_token(self, persona: str) -> str:
        """A reference chip as the persona's own studio of team A would carry it."""
        reference = references.store_bytes(png(), "ref.png")
        user = self.users.get(persona) or self.users["creator"]
        return references.form_token(reference, user, self.team)


@pytest.fixture
def world(team_a: Team, team_b: Team) -> World:
    users = {
        "creator": member("alice", team_a),
        "teammate": member("bob", team_a),
        "viewer": member("vera", team_a, "viewer"),
        "admin": member("ada", team_a, "admin"),
        "stranger": member("charlie", team_b),
    }
    job = make_generation(users["creator"], prompt="shared", state=State.COMPLETED)
    private_job = make_generation(
        users["creator"], prompt="mine only", state=State.COMPLETED, private=True
    )
    stopped_job = make_generation(users["creator"], prompt="stopped", state=State.TIMED_OUT)
    for generation in (job, private_job):
        save_result(generation, 0, png())
    invitation, token = Invitation.issue(team_a, "member", users["admin"])
    key = stored_key("Team A key", "sk-evo-team-a-secret-1234", team_a)
    return World(
        users=users,
        team=team_a,
        job=job,
        private_job=private_job,
        stopped_job=stopped_job,
        bob_membership=Membership.objects.get(user=users["teammate"]),
        invitation=invitation,
        invitation_token=token,
        key=key,
    )


def expect(
    allowed: int,
    personas: tuple[str, ...] = ALL_IN_A,
    **others: int | str,
) -> dict[str, int | str]:
    """`allowed` for `personas`; 404 for the stranger, a login redirect for anonymous,
    and 403 for the rest of team A unless `others` says otherwise."""
    result: dict[str, int | str] = {p: 403 for p in ALL_IN_A}
    result.update({p: allowed for p in personas})
    result.update(stranger=404, anonymous=LOGIN)
    result.update(others)
    return result


GENERATORS = ("creator", "teammate", "admin")
NOT_HERS = {"teammate": 404, "viewer": 404, "admin": 404}


def alice_export(w: World, built: bool = False) -> str:
    """An export alice asked for (of her shared job's image), built when `built`."""
    from playground.exports import tasks as export_tasks
    from playground.exports.models import Export

    export = Export.objects.create(
        team=w.team,
        requested_by=w.users["creator"],
        source="selection",
        description="Selection of 1 image",
        image_ids=[w.job.images.get().pk],
        total=1,
    )
    if built:
        assert export_tasks.build(export.pk) == "ready"
    return str(export.public_id)


def shared_collection(w: World) -> int:
    """A collection of team A holding alice's shared image (made by alice)."""
    from playground.gallery.models import Collection

    collection, _ = Collection.objects.get_or_create(
        team=w.team, name="Shortlist", defaults={"created_by": w.users["creator"]}
    )
    collection.items.get_or_create(image=w.job.images.get())
    return collection.pk


def image_of(w: World, job: str = "job") -> dict[str, Any]:
    return {"image": getattr(w, job).images.get().pk}


def matrix_run(w: World) -> str:
    """A matrix run of team A by alice, its one cell her shared job."""
    import uuid

    from playground.matrix.models import MatrixCell, MatrixRun

    run, created = MatrixRun.objects.get_or_create(
        team=w.team,
        created_by=w.users["creator"],
        client_token=uuid.UUID(int=1),
        defaults={"text": "shared"},
    )
    if created:
        MatrixCell.objects.create(
            run=run, generation=w.job, row=0, column=0, row_label="a", column_label="b"
        )
    return f"/t/a/runs/{run.public_id}/"


def addressed(w: World) -> int:
    """An invitation to team A addressed to charlie (the stranger) by username."""
    return Invitation.address(w.team, "member", w.users["admin"], "charlie").pk


def private_run(w: World) -> str:
    """Alice's "Only me" run, its one cell her private job: hers alone."""
    import uuid

    from playground.matrix.models import MatrixCell, MatrixRun

    run, created = MatrixRun.objects.get_or_create(
        team=w.team,
        created_by=w.users["creator"],
        client_token=uuid.UUID(int=2),
        defaults={"text": "mine only", "private": True, "choices": {"private": True}},
    )
    if created:
        MatrixCell.objects.create(
            run=run, generation=w.private_job, row=0, column=0, row_label="a", column_label="b"
        )
    return f"/t/a/runs/{run.public_id}/"


def contract_check(w: World) -> int:
    """A finished contract check of team A's key."""
    from playground.billing.models import ContractCheck

    check, _ = ContractCheck.objects.get_or_create(
        team=w.team, key=w.key, defaults={"key_label": str(w.key), "state": "done"}
    )
    return check.pk


def team_template(w: World) -> int:
    from playground.matrix.models import PromptTemplate

    saved, _ = PromptTemplate.objects.get_or_create(
        team=w.team, name="Raincoats", defaults={"text": "a {x}", "values": {"x": ["fox"]}}
    )
    return saved.pk


EVERYONE = {p: 200 for p in PERSONAS}


@dataclass
class Case:
    method: str
    url: Callable[[World, str], str]
    expected: dict[str, int | str]
    data: Callable[[World, str], dict[str, Any]] | None = None


def path_of(url: str) -> str:
    return urlsplit(url).path


def job_url(suffix: str = "", job: str = "job") -> Callable[[World, str], str]:
    return lambda w, p: f"/generations/{getattr(w, job).public_id}/{suffix}"


CASES: dict[str, list[Case]] = {
    # Everyone signed in is sent to their own current team's studio.
    "home": [Case("get", lambda w, p: "/", expect(302, stranger=302))],
    "studio": [
        Case("get", lambda w, p: "/t/a/", expect(200)),
        # An empty form: the form's errors (200) for those who may generate.
        Case("post", lambda w, p: "/t/a/", expect(200, GENERATORS)),
    ],
    "history": [Case("get", lambda w, p: "/t/a/history/", expect(200))],
    "reference_upload": [Case("post", lambda w, p: "/t/a/references/", expect(200, GENERATORS))],
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
    "generation_detail": [
        Case("get", job_url(), expect(200)),
        # "Only me": colleagues, even the team's admin, get 404 as if it did not exist.
        Case(
            "get",
            job_url(job="private_job"),
            expect(200, ("creator",), teammate=404, viewer=404, admin=404),
        ),
    ],
    "generation_check_again": [
        Case("post", job_url("check-again/", "stopped_job"), expect(302, GENERATORS))
    ],
    "generation_resubmit": [
        Case("get", job_url("resubmit/"), expect(200, GENERATORS)),
        Case("post", job_url("resubmit/"), expect(302, GENERATORS)),
    ],
    "generation_delete": [
        Case("get", job_url("delete/"), expect(200, ("creator", "admin"))),
        Case("post", job_url("delete/"), expect(302, ("creator", "admin"))),
        Case(
            "post",
            job_url("delete/", "private_job"),
            expect(302, ("creator",), teammate=404, viewer=404, admin=404),
        ),
    ],
    # A finished job is refused with a message: the access check comes first.
    "generation_cancel": [Case("post", job_url("cancel/"), expect(302, ("creator", "admin")))],
    "generation_download_all": [
        Case("get", job_url("images.zip"), expect(200)),
        Case(
            "get",
            job_url("images.zip", "private_job"),
            expect(200, ("creator",), teammate=404, viewer=404, admin=404),
        ),
    ],
    # Anyone in the team, viewers too, chooses how their own history looks.
    "history_layout": [
        Case(
            "post",
            lambda w, p: "/t/a/history/layout/",
            expect(302, ALL_IN_A),
            data=lambda w, p: {"layout": "grid"},
        )
    ],
    "generation_visibility": [
        Case(
            "post",
            job_url("visibility/"),
            expect(302, ("creator",)),
            data=lambda w, p: {"private": "on"},
        )
    ],
    "result_image": [
        Case("get", job_url("images/0"), expect(200)),
        Case(
            "get",
            job_url("images/0", "private_job"),
            expect(200, ("creator",), teammate=404, viewer=404, admin=404),
        ),
    ],
    "result_thumbnail": [
        Case("get", job_url("images/0/thumbnail"), expect(200)),
        Case(
            "get",
            job_url("images/0/thumbnail", "private_job"),
            expect(200, ("creator",), teammate=404, viewer=404, admin=404),
        ),
    ],
    "reference_from_result": [
        Case("post", job_url("images/0/use-as-reference"), expect(200, GENERATORS)),
        Case(
            "post",
            job_url("images/0/use-as-reference", "private_job"),
            expect(200, ("creator",), teammate=404, viewer=404, admin=404),
        ),
    ],
    "reference_thumbnail": [
        # A token signed for the persona in team A: only members of team A get it
        # (the stranger's token was forged for a team he is not in).
        Case("get", lambda w, p: f"/references/{w.reference_token(p)}/thumbnail", expect(200)),
        # A token signed for alice opens nothing for anyone else.
        Case(
            "get",
            lambda w, p: f"/references/{w.reference_token('creator')}/thumbnail",
            expect(200, ("creator",), teammate=404, viewer=404, admin=404),
        ),
    ],
    "live": [Case("get", lambda w, p: "/studio/live/", expect(200, anonymous=LOGIN, stranger=200))],
    # EvoLink's endpoints: no login, the secret in the URL is the key.
    "reference_public": [
        Case(
            "get",
            lambda w, p: path_of(references.public_url(references.store_bytes(png(), "r.png"))),
            dict(EVERYONE),
        )
    ],
    "evolink_callback": [
        Case(
            "post",
            lambda w, p: path_of(callbacks.url_for(w.job.public_id)),
            {p: 204 for p in PERSONAS},
        )
    ],
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
    "health": [Case("get", lambda w, p: "/healthz", dict(EVERYONE))],
    # Images of any of the person's teams; one image they may not see: 404 for the page.
    "compare": [
        Case(
            "get",
            lambda w, p: (
                f"/compare/?images={w.job.images.get(index=0).pk},{save_result(w.job, 1, png()).pk}"
            ),
            expect(200),
        ),
        Case(
            "get",
            lambda w, p: (
                f"/compare/?images={w.job.images.get().pk},{w.private_job.images.get().pk}"
            ),
            expect(200, ("creator",), teammate=404, viewer=404, admin=404),
        ),
        # One image is not a comparison: a page that says so, before any image is read.
        Case(
            "get",
            lambda w, p: f"/compare/?images={w.job.images.get().pk}",
            expect(400, stranger=400),
        ),
    ],
    # Anyone in the team exports what they may see (viewers too: they may download it);
    # an image of another team, or a colleague's "Only me" one, exports nothing (404).
    "export_create": [
        Case(
            "post",
            lambda w, p: "/t/a/exports/",
            expect(302),
            data=lambda w, p: {"source": "selection", "image": w.job.images.get().pk},
        ),
        Case(
            "post",
            lambda w, p: "/t/a/exports/",
            expect(302, ("creator",), teammate=404, viewer=404, admin=404),
            data=lambda w, p: {"source": "selection", "image": w.private_job.images.get().pk},
        ),
        # Alice's "Only me" run: its prompt would title the export.
        Case(
            "post",
            lambda w, p: "/t/a/exports/",
            expect(302, ("creator",), teammate=404, viewer=404, admin=404),
            data=lambda w, p: {"source": "run", "source_id": private_run(w).split("/")[-2]},
        ),
    ],
    # An export is its requester's alone (its manifest may hold their "Only me" prompts):
    # everyone else, a team admin too, gets 404.
    "export_detail": [
        Case(
            "get",
            lambda w, p: f"/exports/{alice_export(w)}/",
            expect(200, ("creator",), **NOT_HERS),
        )
    ],
    "export_download": [
        Case(
            "get",
            lambda w, p: f"/exports/{alice_export(w, built=True)}/download",
            expect(200, ("creator",), **NOT_HERS),
        )
    ],
    "export_retry": [
        Case(
            "post",
            lambda w, p: f"/exports/{alice_export(w)}/retry",
            expect(302, ("creator",), **NOT_HERS),
        )
    ],
    # Stars are each person's own: anyone who may see the image (viewers too), 404 for
    # an image they may not see (another team's, a colleague's "Only me").
    "favourite_toggle": [
        Case(
            "post",
            lambda w, p: f"/images/{w.job.images.get().pk}/favourite/",
            expect(302, ALL_IN_A),
        ),
        Case(
            "post",
            lambda w, p: f"/images/{w.private_job.images.get().pk}/favourite/",
            expect(302, ("creator",), **NOT_HERS),
        ),
    ],
    # Collections are the team's: everyone in it opens them, members and admins change
    # them (viewers 403), strangers get 404 by any URL.
    "collections": [
        Case("get", lambda w, p: "/t/a/collections/", expect(200)),
        Case(
            "post",
            lambda w, p: "/t/a/collections/",
            expect(302, GENERATORS),
            data=lambda w, p: {"name": "Moodboard"},
        ),
    ],
    "collection_add": [
        Case(
            "post",
            lambda w, p: "/t/a/collections/add/",
            expect(302, GENERATORS),
            data=lambda w, p: {**image_of(w), "collection": "new", "new_name": "Picks"},
        ),
        # A colleague's "Only me" image cannot be collected: nothing is added (404).
        Case(
            "post",
            lambda w, p: "/t/a/collections/add/",
            expect(302, ("creator",), teammate=404, viewer=403, admin=404),
            data=lambda w, p: {**image_of(w, "private_job"), "collection": "new", "new_name": "P"},
        ),
    ],
    "collection": [
        Case("get", lambda w, p: f"/t/a/collections/{shared_collection(w)}/", expect(200))
    ],
    "collection_rename": [
        Case(
            "post",
            lambda w, p: f"/t/a/collections/{shared_collection(w)}/rename/",
            expect(302, GENERATORS),
            data=lambda w, p: {"name": "Final picks"},
        )
    ],
    "collection_delete": [
        Case(
            "get",
            lambda w, p: f"/t/a/collections/{shared_collection(w)}/delete/",
            expect(200, GENERATORS),
        ),
        Case(
            "post",
            lambda w, p: f"/t/a/collections/{shared_collection(w)}/delete/",
            expect(302, GENERATORS),
        ),
    ],
    "collection_remove": [
        Case(
            "post",
            lambda w, p: f"/t/a/collections/{shared_collection(w)}/remove/",
            expect(302, GENERATORS),
            data=lambda w, p: image_of(w),
        )
    ],
    "collection_cover": [
        Case(
            "post",
            lambda w, p: f"/t/a/collections/{shared_collection(w)}/cover/",
            expect(302, GENERATORS),
            data=lambda w, p: image_of(w),
        )
    ],
    # Matrix runs and templates make jobs and change team data: members and admins; a
    # run's page is for the whole team (viewers look and download).
    "matrix": [
        Case("get", lambda w, p: "/t/a/matrix/", expect(200, GENERATORS)),
        # "Run again…" of a run: a shared one for every generator; alice's "Only me"
        # one for alice only (404 for colleagues, as if it did not exist).
        Case(
            "get",
            lambda w, p: f"/t/a/matrix/?run={matrix_run(w).split('/')[-2]}",
            expect(200, GENERATORS),
        ),
        Case(
            "get",
            lambda w, p: f"/t/a/matrix/?run={private_run(w).split('/')[-2]}",
            expect(200, GENERATORS, teammate=404, admin=404),
        ),
        Case(
            "post",
            lambda w, p: "/t/a/matrix/",
            expect(200, GENERATORS),
            data=lambda w, p: {"prompt": "a fox", "models": ["gpt-image-2"]},
        ),
    ],
    "matrix_run": [
        Case("get", lambda w, p: matrix_run(w), expect(200)),
        Case("get", lambda w, p: private_run(w), expect(200, ("creator",), **NOT_HERS)),
    ],
    "matrix_run_keep": [
        Case("post", lambda w, p: f"{matrix_run(w)}keep/", expect(302, GENERATORS)),
        Case(
            "post",
            lambda w, p: f"{private_run(w)}keep/",
            expect(302, ("creator",), **NOT_HERS),
        ),
    ],
    # Without a name: the page again, with the message (nothing saved).
    "template_save": [Case("post", lambda w, p: "/t/a/templates/", expect(200, GENERATORS))],
    "template_delete": [
        Case(
            "post",
            lambda w, p: f"/t/a/templates/{team_template(w)}/delete/",
            expect(302, GENERATORS),
        )
    ],
}


def url_names(patterns: list[Any] | None = None, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # Django's own admin: staff only, tested in test_teams.py
            names |= url_names(entry.url_patterns)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(entry.name)
    return names


def test_every_url_pattern_has_an_access_case() -> None:
    missing = url_names() - set(CASES)
    assert not missing, f"add access cases for: {sorted(missing)}"
    assert not set(CASES) - url_names(), "cases for URLs that no longer exist"
    for name, cases in CASES.items():
        for case in cases:
            assert set(case.expected) == set(PERSONAS), name


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("name", "index"), [(name, i) for name, cases in CASES.items() for i in range(len(cases))]
)
def test_access(world: World, name: str, index: int, persona: str) -> None:
    case = CASES[name][index]
    client = logged_in(world.users[persona]) if persona in world.users else Client()
    url = case.url(world, persona)
    data = case.data(world, persona) if case.data else {}
    response = getattr(client, case.method)(url, data)
    expected = case.expected[persona]
    if expected == LOGIN:
        assert response.status_code == 302, (url, response.status_code)
        assert response["Location"].startswith("/login/"), response["Location"]
    else:
        assert response.status_code == expected, (url, persona, response.status_code)
