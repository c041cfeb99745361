"""A big team for the history benchmark (bench/history.py): 20 members and, by default,
10,000 jobs bulk-inserted with their result rows (no files); see `populate`."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

MEMBERS = 20
TEAM_SLUG = "bench"
MODEL_IDS = ("gpt-image-1", "gpt-image-1.5", "gpt-image-2")
SUBJECTS = [
    ("fox", 30),
    ("lighthouse", 20),
    ("owl", 12),
    ("city", 12),
    ("harbour", 10),
    ("mountain", 8),
    ("robot", 8),
]
STYLES = [
    ("watercolor", 30),
    ("oil painting", 20),
    ("pixel art", 15),
    ("photo", 15),
    ("ink sketch", 10),
    ("3d render", 10),
]
ADJECTIVES = ["red", "sleepy", "tiny", "ancient", "neon", "misty", "golden", "lonely"]
SETTINGS = ["at dawn", "in the snow", "by the sea", "under the stars", "in a forest", ""]


def pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([w for w, _ in weighted], [n for _, n in weighted])[0]


def populate(jobs: int, seed: int) -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from playground.generations.models import Generation, ResultImage, State
    from playground.teams.models import Membership, Role, Team

    rng = random.Random(seed)
    team = Team.objects.create(name="Bench", slug=TEAM_SLUG)
    users = User.objects.bulk_create(
        [User(username=f"member{i:02d}") for i in range(1, MEMBERS + 1)]
    )
    if users[0].pk is None:
        users = list(User.objects.filter(username__startswith="member").order_by("username"))
    Membership.objects.bulk_create(
        [
            Membership(team=team, user=u, role=Role.ADMIN if i == 0 else Role.MEMBER)
            for i, u in enumerate(users)
        ]
    )

    now = timezone.now()
    # Oldest first, so that ids grow with created_at as they do for real.
    ages = sorted((rng.uniform(120, 60 * 86400) for _ in range(jobs)), reverse=True)
    in_flight = {
        jobs - 1 - k: s
        for k, s in enumerate(
            [State.RUNNING, State.RUNNING, State.QUEUED, State.SUBMITTING, State.ARCHIVING]
        )
    }
    batch = []
    for i, age in enumerate(ages):
        model = rng.choice(MODEL_IDS)
        size = rng.choice(["1:1", "16:9", "auto"]) if model == "gpt-image-2" else "1024x1024"
        quality = rng.choice(["low", "medium", "high"])
        n = rng.choice([1, 1, 2])
        setting = rng.choice(SETTINGS)
        prompt = (
            f"a {rng.choice(ADJECTIVES)} {pick(rng, SUBJECTS)}"
            f"{' ' + setting if setting else ''}, {pick(rng, STYLES)}"
        )
        if rng.random() < 0.1:
            prompt = prompt.capitalize()
        created = now - timedelta(seconds=age)
        state = in_flight.get(i) or (State.FAILED if rng.random() < 0.08 else State.COMPLETED)
        finished = (
            None if state in in_flight.values() else created + timedelta(seconds=rng.uniform(8, 90))
        )
        batch.append(
            Generation(
                team=team,
                owner=rng.choice(users),
                private=rng.random() < 0.05,
                model=model,
                prompt=prompt,
                size=size,
                resolution="1K" if model == "gpt-image-2" and size != "auto" else "",
                quality=quality,
                n=n,
                state=state,
                progress=100 if finished else 40,
                error_code="content_policy" if state == State.FAILED else "",
                error_message="The request was rejected." if state == State.FAILED else "",
                request_payload={
                    "model": model,
                    "prompt": prompt,
                    "size": size,
                    "quality": quality,
                    "n": n,
                },
                upstream_task_id=f"task-{i}",
                upstream_status="completed" if state == State.COMPLETED else "",
                created_at=created,
                updated_at=finished or created,
                submitted_at=created + timedelta(seconds=1),
                finished_at=finished,
                images_returned=n if state == State.COMPLETED else None,
            )
        )
    created_jobs = Generation.objects.bulk_create(batch, batch_size=1000)
    if created_jobs and created_jobs[0].pk is None:
        created_jobs = list(Generation.objects.filter(team=team).order_by("id"))
    images = [
        ResultImage(
            generation=g,
            index=k,
            file="x.png",
            thumbnail="x.webp",
            format="PNG",
            width=1024,
            height=1024,
            bytes=1,
            created_at=g.finished_at,
        )
        for g in created_jobs
        if g.state == State.COMPLETED
        for k in range(rng.choice([1, 1, 2]))
    ]
    ResultImage.objects.bulk_create(images, batch_size=1000)
    if connection.vendor == "postgresql":
        # What autovacuum would soon have done on a real table of this size.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    viewer = users[0]
    return {
        "team": team,
        "viewer": viewer,
        "other_member": users[6],
        "data": {
            "members": MEMBERS,
            "jobs": Generation.objects.filter(team=team).count(),
            "result_images": ResultImage.objects.count(),
            "visible_to_viewer": Generation.objects.visible_to(viewer, team).count(),
            "private": Generation.objects.filter(private=True).count(),
            "private_of_others": Generation.objects.filter(private=True)
            .exclude(owner=viewer)
            .count(),
            "states": Counter(Generation.objects.values_list("state", flat=True)),
            "models": Counter(Generation.objects.values_list("model", flat=True)),
            "days": 60,
        },
    }
