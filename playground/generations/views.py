"""The endpoints EvoLink calls, which need no login: completion callbacks and the
reference images it downloads. Each is opened by a secret in its URL (an HMAC, a
signed token), never by an id alone."""

from __future__ import annotations

import json
import uuid

from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST, require_safe

from playground.generations import callbacks, jobs, references
from playground.generations.models import Generation


@login_not_required
@csrf_exempt  # EvoLink cannot send our CSRF token; the URL's HMAC authenticates it
@require_POST
def evolink_callback(request: HttpRequest, public_id: uuid.UUID, token: str) -> HttpResponse:
    """EvoLink says a task ended. Only a hint: the poller confirms with its own key."""
    if not callbacks.is_valid(public_id, token):
        raise Http404
    generation = Generation.objects.filter(public_id=public_id).only("pk").first()
    if generation is None:
        raise Http404
    jobs.poll_soon(generation.pk, _task_id_of(request))
    return HttpResponse(status=204)


def _task_id_of(request: HttpRequest) -> str:
    """The task a callback is about (a job sent as several tasks has one per image).
    Only a hint, like the rest of the body: it picks which of this job's tasks to read."""
    try:
        body = json.loads(request.body)
    except ValueError:
        return ""
    task_id = body.get("id") if isinstance(body, dict) else None
    return task_id if isinstance(task_id, str) else ""


@login_not_required
@require_GET
def reference_public(request: HttpRequest, token: str, ext: str) -> FileResponse:
    """A reference image for EvoLink to download: no login, nothing to list or guess."""
    reference = references.from_public_token(token)
    # Only our own re-encoded copy ever leaves (older rows are re-encoded at submit).
    if reference is None or not reference.reencoded or ext != reference.extension:
        raise Http404
    response = FileResponse(reference.file.open("rb"), content_type=reference.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_not_required
@require_safe  # load balancers and uptime monitors probe with GET or HEAD
def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
