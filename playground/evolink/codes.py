"""The table of EvoLink failures: each code, the sentence a person reads, and whether
trying again later may help.

The messages are English, marked with gettext_noop: they are stored as they are (on a
job, on a key) and read in each reader's language when shown (playground/stored_messages.py).
errors.py builds `EvoLinkError`s from this table and re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_noop

from playground.catalogue import FAILURE_CODES


@dataclass(frozen=True)
class ErrorKind:
    message: str
    retryable: bool


def _failure(code: str, message: str) -> tuple[str, ErrorKind]:
    # Retry advice for task failure codes comes from the catalogue (EvoLink's docs),
    # so there is one table of truth for it.
    return code, ErrorKind(message, FAILURE_CODES[code])


ERRORS: dict[str, ErrorKind] = dict(
    [
        # --- Task failure codes (a task that ended with status "failed") -------------
        _failure(
            "content_policy_violation",
            gettext_noop(
                "The content filter blocked this prompt. Try rephrasing; illustrated styles "
                "are blocked less often."
            ),
        ),
        _failure(
            "invalid_parameters",
            gettext_noop(
                "EvoLink rejected the request's parameters. Check the size, quality and "
                "number of images for this model."
            ),
        ),
        _failure(
            "image_processing_error",
            gettext_noop(
                "EvoLink could not download or decode a reference image. Each must be a "
                "directly downloadable JPEG, PNG or WebP file under 50 MB."
            ),
        ),
        _failure(
            "image_dimension_mismatch",
            gettext_noop(
                "The reference images' dimensions do not fit this request. Use images of "
                "matching sizes or pick another output size."
            ),
        ),
        _failure(
            "resource_not_found",
            gettext_noop(
                "Something the task needed was not found upstream (for example an expired "
                "reference file). Upload the references again."
            ),
        ),
        _failure(
            "service_error",
            gettext_noop(
                "EvoLink had an internal error while generating. Try again in a few minutes."
            ),
        ),
        _failure(
            "generation_timeout",
            gettext_noop(
                "The generation took too long and was stopped. Try again later; lower "
                "quality or smaller sizes finish faster."
            ),
        ),
        _failure(
            "resource_exhausted",
            gettext_noop("EvoLink is out of capacity right now. Try again in a few minutes."),
        ),
        _failure(
            "quota_exceeded",
            gettext_noop(
                "EvoLink's usage limit for this team's API key was reached. Wait a while and "
                "try again; if it keeps happening, ask a team admin to raise the key's limit."
            ),
        ),
        _failure(
            "service_unavailable",
            gettext_noop(
                "EvoLink's image service is temporarily unavailable. Try again in a few minutes."
            ),
        ),
        _failure("request_cancelled", gettext_noop("The task was cancelled before it finished.")),
        _failure(
            "generation_failed_no_content",
            gettext_noop(
                "The model finished without producing an image. Trying again often works; "
                "rephrasing the prompt may help."
            ),
        ),
        _failure(
            "unknown_error",
            gettext_noop(
                "The generation failed for a reason EvoLink did not explain. Try again later."
            ),
        ),
        # --- HTTP answers (names we give when the body carries no string code) -------
        (
            "invalid_request",
            ErrorKind(gettext_noop("EvoLink rejected the request as invalid."), False),
        ),
        (
            "unauthorized",
            ErrorKind(
                gettext_noop(
                    "EvoLink did not accept this team's API key, so nothing was charged. Ask a "
                    "team admin to check the key."
                ),
                False,
            ),
        ),
        (
            "insufficient_quota",
            ErrorKind(
                gettext_noop(
                    "The team's EvoLink account balance is too low for this request, so nothing "
                    "was charged. Ask a team admin to top up the account, then try again."
                ),
                False,
            ),
        ),
        (
            "forbidden",
            ErrorKind(
                gettext_noop(
                    "This team's API key may not use this model, so nothing was charged. Try "
                    "another model, or ask a team admin to enable this one for the key."
                ),
                False,
            ),
        ),
        (
            "not_found",
            ErrorKind(gettext_noop("EvoLink has no such resource."), False),
        ),
        (
            "task_not_found",
            ErrorKind(
                gettext_noop(
                    "EvoLink has no task with this id for this API key: it may have expired, or "
                    "it was created with another key."
                ),
                False,
            ),
        ),
        (
            "request_too_large",
            ErrorKind(
                gettext_noop(
                    "The request is too large for EvoLink. Send fewer or smaller reference "
                    "images or a shorter prompt."
                ),
                False,
            ),
        ),
        (
            "rate_limited",
            ErrorKind(
                gettext_noop(
                    "EvoLink is rate-limiting this API key. Wait a little, then try again."
                ),
                True,
            ),
        ),
        (
            "server_error",
            ErrorKind(
                gettext_noop("EvoLink had an internal error. Try again in a few minutes."), True
            ),
        ),
        (
            "bad_gateway",
            ErrorKind(
                gettext_noop(
                    "EvoLink's gateway could not reach its image service. Try again in a few "
                    "minutes."
                ),
                True,
            ),
        ),
        (
            "gateway_timeout",
            ErrorKind(
                gettext_noop("EvoLink's gateway timed out. Try again in a few minutes."), True
            ),
        ),
        (
            "http_error",
            ErrorKind(gettext_noop("EvoLink answered with an unexpected HTTP status."), False),
        ),
        # --- Failures on our side of the wire ----------------------------------------
        (
            "network_error",
            ErrorKind(
                gettext_noop(
                    "Could not connect to EvoLink (network problem or the service is down). "
                    "Nothing was sent; try again in a moment."
                ),
                True,
            ),
        ),
        (
            "timeout",
            ErrorKind(gettext_noop("EvoLink did not answer in time. Try again in a moment."), True),
        ),
        (
            "submission_uncertain",
            ErrorKind(
                gettext_noop(
                    "EvoLink may have received this request and started (and charged for) it, "
                    "but its answer never reached us, so we did not send it again. Press "
                    "“Submit again” if you still need the image (it may then be charged "
                    "twice); a team admin can check EvoLink's task list to see whether it ran."
                ),
                False,
            ),
        ),
        (
            "invalid_response",
            ErrorKind(
                gettext_noop("EvoLink answered with something that is not a valid task."), True
            ),
        ),
        (
            "result_expired",
            ErrorKind(
                gettext_noop(
                    "The result image is no longer available: EvoLink keeps results for 24 "
                    "hours only."
                ),
                False,
            ),
        ),
        (
            "download_refused",
            ErrorKind(
                gettext_noop(
                    "The result URL was refused for safety (only public HTTPS addresses are "
                    "fetched, without redirects to elsewhere)."
                ),
                False,
            ),
        ),
        (
            "download_not_image",
            ErrorKind(gettext_noop("The result URL did not return an image."), False),
        ),
        (
            "download_too_large",
            ErrorKind(
                gettext_noop("The result image is larger than this playground accepts."), False
            ),
        ),
        # --- Files API (reference uploads) ------------------------------------------
        (
            "upload_refused",
            ErrorKind(gettext_noop("EvoLink's file storage refused the reference image."), False),
        ),
    ]
)


def _kind(message: str, retryable: bool = False) -> ErrorKind:
    return ErrorKind(message, retryable)


# The string codes of EvoLink's API reference (August 2026), and our names for the 402
# variants EvoLink's own clients tell apart. Each has its
# own sentence: a person must know whether to wait, top up, or ask for a new key.
ERRORS.update(
    {
        # --- create: POST /v1/images/generations -------------------------------------
        "rate_limit_exceeded": _kind(ERRORS["rate_limited"].message, True),
        "internal_error": _kind(ERRORS["server_error"].message, True),
        "model_access_denied": _kind(
            gettext_noop(
                "This API key may not use this model (EvoLink answered “model access "
                "denied”), so nothing was charged. Another key of the team is tried; a team "
                "admin can allow the model for the key in EvoLink."
            )
        ),
        "model_not_found": _kind(
            gettext_noop(
                "EvoLink does not offer this model any more, so nothing was charged. Ask an "
                "admin to switch it off and pick another model."
            )
        ),
        # 402 variants (INFERRED names: EvoLink sends `key_disabled`, `key_expired`,
        # `key_model_not_allowed` as codes and says which quota in the message).
        "key_quota_exceeded": _kind(
            gettext_noop(
                "This API key's own credit limit is used up (the account itself may still have "
                "credits), so nothing was charged. Ask a team admin to raise the key's limit "
                "in EvoLink."
            )
        ),
        "key_daily_quota_exceeded": _kind(
            gettext_noop(
                "This API key has used up its daily quota, so nothing was charged. The quota "
                "resets at midnight: the key rests until then, and the team's other keys are "
                "used meanwhile."
            ),
            True,
        ),
        "key_disabled": _kind(
            gettext_noop(
                "EvoLink has disabled this API key, so nothing was charged. Ask a team admin "
                "to enable it in EvoLink or add another key."
            )
        ),
        "key_expired": _kind(
            gettext_noop(
                "This API key has expired, so nothing was charged. Ask a team admin to add a "
                "new key."
            )
        ),
        "key_model_not_allowed": _kind(
            gettext_noop(
                "This API key is not allowed to use this model, so nothing was charged. "
                "Another key of the team is tried; a team admin can allow the model for the "
                "key in EvoLink."
            )
        ),
        # --- task reads: GET /v1/tasks/{id} -----------------------------------------
        "invalid_task_id": _kind(
            gettext_noop("EvoLink did not recognise this task id (it is malformed).")
        ),
        "permission_denied": _kind(
            gettext_noop(
                "EvoLink did not let this API key read the task: the key lost its access, or "
                "the task belongs to another account."
            )
        ),
    }
)
