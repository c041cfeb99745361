"""The images API: OpenAI's images endpoints, answered by the playground for a
personal API token (playground/apitokens/), acting as its member in its team.

Every endpoint but the OpenAPI description and the signed image links needs
`Authorization: Bearer pgk_…`; every error is OpenAI's error body. A job is made as
the studio makes one: the model's own form validates it, the same estimate and budget
check price it, `create_generation` stores it and the same fair queue sends it.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from playground import catalogue
from playground.api import bodies, errors, openapi, results, uploads, waiting
from playground.api.errors import ApiError
from playground.apitokens import auth
from playground.apitokens.auth import AuthFailure, Caller
from playground.billing import paying
from playground.generations import budgets, mask_uploads, references
from playground.generations.creation import create_generation
from playground.generations.forms import form_for
from playground.generations.models import Generation, GenerationQuerySet, State
from playground.teams import availability

ApiView = Callable[..., HttpResponse]
# Idempotency-Key (OpenAI's clients send one per call, the same on each retry) names
# the job: a retried POST finds the job its first attempt made instead of paying twice.
IDEMPOTENCY = uuid.UUID("0b6f1d5e-6a52-4b8e-9a43-3c1f5b2d7e10")


def endpoint(*methods: str, authenticated: bool = True) -> Callable[[ApiView], ApiView]:
    """An API view: no session, no CSRF (a token is no ambient credential), the
    request's token authenticated first, and every refusal as OpenAI's error body."""

    def wrap(view: ApiView) -> ApiView:
        @functools.wraps(view)
        def run(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = errors.respond(
                    ApiError(
                        405,
                        _("%(method)s is not allowed here; use %(allowed)s.")
                        % {"method": request.method, "allowed": ", ".join(methods)},
                        "method_not_allowed",
                    )
                )
                response["Allow"] = ", ".join(methods)
                return response
            try:
                if authenticated:
                    return view(request, auth.authenticate(request), *args, **kwargs)
                return view(request, *args, **kwargs)
            except (ApiError, AuthFailure) as error:
                return errors.respond(error)

        return csrf_exempt(login_not_required(run))

    return wrap


def _may_generate(caller: Caller) -> None:
    if not caller.membership.can_generate:
        raise ApiError(
            403,
            _("This token's member is a viewer in %(team)s: viewers see, never generate.")
            % {"team": caller.membership.team.name},
            "viewer_cannot_generate",
            type="permission_error",
        )


def _client_token(request: HttpRequest, caller: Caller) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return str(uuid.uuid4())
    return str(uuid.uuid5(IDEMPOTENCY, f"{caller.token.pk}:{key}"))


def _wait_seconds(request: HttpRequest) -> float:
    """How long to wait for the images: API_WAIT_SECONDS, or less with `?wait=N`."""
    raw = request.GET.get("wait")
    limit = settings.API_WAIT_SECONDS
    try:
        return min(max(float(raw), 0.0), limit) if raw is not None else limit
    except ValueError:
        raise ApiError(
            400, _("wait must be a number of seconds."), "invalid_value", param="wait"
        ) from None


def _create(
    caller: Caller,
    wanted: bodies.ImageRequest,
    client_token: str,
    attached: list[references.Attached] | None = None,
    mask: mask_uploads.AttachedMask | None = None,
) -> Generation:
    """The job, made exactly as the studio makes it; refusals as API errors."""
    form = form_for(wanted.spec.id)(
        {**wanted.data, "client_token": client_token}, references=attached, mask=mask
    )
    if not form.is_valid():
        raise errors.from_form(form)
    try:
        return create_generation(caller.membership, form, via=caller.token)
    except budgets.OverBudget as refusal:
        raise ApiError(402, str(refusal), "budget_exceeded", type="insufficient_quota") from None
    except availability.ModelOff as refusal:
        raise ApiError(404, str(refusal), "model_not_found", param="model") from None
    except paying.NoPayer as refusal:
        raise ApiError(402, str(refusal), "no_key_can_pay", type="insufficient_quota") from None


def _answer(request: HttpRequest, job: Generation, response_format: str) -> HttpResponse:
    """The images when the job is done, its failure as an error, else 202 and where to
    follow it."""
    if job.state == State.COMPLETED:
        return JsonResponse(results.images_response(request, job, response_format))
    if job.state in (State.FAILED, State.UNCERTAIN, State.TIMED_OUT, State.CANCELLED):
        code = job.error_code or job.state
        if job.state in (State.UNCERTAIN, State.TIMED_OUT):
            # It may yet be (or have been) charged: 424, which OpenAI's clients do not
            # retry, so that no second job is paid for before a person looks.
            status = 424
        elif job.state == State.CANCELLED or not catalogue.FAILURE_CODES.get(code, True):
            status = 400  # trying again cannot mend it (a refused prompt)
        else:
            status = 502  # failed upstream, not charged: trying again may pass
        raise ApiError(
            status,
            _("Job %(id)s (%(state)s): %(reason)s")
            % {"id": job.public_id, "state": job.get_state_display(), "reason": job.error_text},
            code,
            type="image_generation_error",
        )
    response = JsonResponse(results.job_object(request, job), status=202)
    response["Location"] = results.job_url(request, job)
    return response


@endpoint("POST")
def generations(request: HttpRequest, caller: Caller) -> HttpResponse:
    """POST /v1/images/generations: OpenAI's body; the images once ready."""
    _may_generate(caller)
    wanted = bodies.image_request(bodies.json_body(request), caller.membership.team, caller.token)
    seconds = _wait_seconds(request)
    job = _create(caller, wanted, _client_token(request, caller))
    return _answer(request, waiting.until_final(job.pk, seconds), wanted.response_format)


@endpoint("POST")
def edits(request: HttpRequest, caller: Caller) -> HttpResponse:
    """POST /v1/images/edits: OpenAI's multipart form, `image` (or `image[]`, one or
    more) and an optional `mask` for the first; the uploads pass the studio's checks."""
    _may_generate(caller)
    membership = caller.membership
    fields = {name: request.POST.get(name) for name in request.POST}
    wanted = bodies.image_request(fields, membership.team, caller.token)
    seconds = _wait_seconds(request)
    attached = uploads.references_of(request, membership.user)
    mask = uploads.mask_of(request, wanted.spec, attached, membership.user)
    job = _create(caller, wanted, _client_token(request, caller), attached, mask)
    return _answer(request, waiting.until_final(job.pk, seconds), wanted.response_format)


def _visible_jobs(caller: Caller) -> GenerationQuerySet:
    membership = caller.membership
    return Generation.objects.visible_to(membership.user, membership.team).select_related(
        "owner", "api_token"
    )


@endpoint("GET")
def job(request: HttpRequest, caller: Caller, public_id: uuid.UUID) -> HttpResponse:
    """GET /v1/jobs/{id}: a job of the token's team that its member may see."""
    found = _visible_jobs(caller).filter(public_id=public_id).first()
    if found is None:
        raise ApiError(404, _("No such job in this team."), "job_not_found")
    response_format = request.GET.get("response_format", "url")
    if response_format not in bodies.RESPONSE_FORMATS:
        raise ApiError(
            400,
            _("response_format must be url or b64_json."),
            "invalid_value",
            param="response_format",
        )
    return JsonResponse(results.job_object(request, found, response_format))


@endpoint("GET")
def jobs(request: HttpRequest, caller: Caller) -> HttpResponse:
    """GET /v1/jobs: the team's jobs the member may see, newest first (`scope=mine`:
    the member's own; `scope=token`: this token's), `limit` at a time, `after` a job."""
    found = _visible_jobs(caller)
    scope = request.GET.get("scope", "team")
    if scope == "mine":
        found = found.filter(owner_id=caller.membership.user_id)
    elif scope == "token":
        found = found.filter(api_token=caller.token)
    elif scope != "team":
        raise ApiError(400, _("scope must be team, mine or token."), "invalid_value", param="scope")
    try:
        limit = int(request.GET.get("limit", "20"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise ApiError(
            400, _("limit must be a whole number from 1 to 100."), "invalid_value", param="limit"
        )
    if after := request.GET.get("after"):
        try:
            cursor = Generation.objects.filter(public_id=uuid.UUID(after)).values("pk")
        except ValueError:
            raise ApiError(
                400, _("after must be a job's id."), "invalid_value", param="after"
            ) from None
        found = found.filter(pk__lt=cursor[:1])
    page = list(found.order_by("-pk")[: limit + 1])
    data = [results.job_object(request, item) for item in page[:limit]]
    return JsonResponse(
        {
            "object": "list",
            "data": data,
            "has_more": len(page) > limit,
            "last_id": data[-1]["id"] if data else None,
        }
    )


@endpoint("GET")
def models(request: HttpRequest, caller: Caller) -> HttpResponse:
    """GET /v1/models: the models the token's team may use now."""
    offered = availability.available_models(caller.membership.team)
    return JsonResponse(
        {
            "object": "list",
            "data": [
                {
                    "id": spec.id,
                    "object": "model",
                    "created": 0,
                    "owned_by": "evolink",
                    "name": spec.label,
                    "takes_references": True,
                    "takes_mask": spec.takes_mask,
                    "n_max": spec.n_max,
                }
                for spec in offered
            ],
        }
    )


@endpoint("GET", authenticated=False)
def openapi_json(request: HttpRequest) -> HttpResponse:
    """GET /v1/openapi.json: this API described (no token needed to read it)."""
    return JsonResponse(openapi.description(request.build_absolute_uri("/v1")))


@login_not_required
def image(request: HttpRequest, token: str) -> FileResponse:
    """An archived image behind a signed, expiring link from an API answer."""
    found = results.image_of(token)
    if found is None or request.method not in ("GET", "HEAD"):
        raise Http404
    response = FileResponse(found.file.open("rb"), content_type=found.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response
