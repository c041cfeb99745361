"""Which keys pay for a job, and trying them in turn when EvoLink refuses one.

A team may hold several EvoLink keys. A create answered 401 / 402 / 403 means EvoLink
created nothing, so the next key may safely try; the refusal is recorded on the key
(disabled, resting until midnight, or not for this model) so later jobs skip it. When
EvoLink does not offer the model at all, or refuses it to every key, the job is told
(`ModelGone`, `AllKeysRefused`) rather than sent again.

Shared by whole jobs (jobs.py) and by the upstream tasks of a split job (fanout.py), so
the key rules live here once; kept apart from jobs.py, which is the job's life
(submit, poll, archive, reconcile), because they are about keys, not states.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone

from playground import stored_messages
from playground.billing import models as billing
from playground.evolink import client as evolink
from playground.generations import pacing
from playground.generations.models import Generation
from playground.teams import availability

# What a refused create means for the job (see _classify_create_error).
MODEL_GONE, NEXT_KEY, OTHER = "model_gone", "next_key", "other"


def choose_payers(generation: Generation) -> list[billing.Payer]:
    """The keys that may pay for this job's model, in the order they are tried (keys
    resting until midnight, or refused this model before, are left out)."""
    return billing.payers_for(generation.team, generation.model)


def _classify_create_error(error: evolink.EvoLinkError) -> str:
    """MODEL_GONE: EvoLink does not offer the model (nothing created, never uncertain);
    NEXT_KEY: this key was refused (401/402/403: nothing created, another key may try);
    OTHER: the usual rules (uncertain, retry later, or failed)."""
    if error.uncertain:
        return OTHER
    if error.code == "model_not_found":
        return MODEL_GONE
    if error.status in billing.REFUSING_STATUSES:
        return NEXT_KEY
    return OTHER


def _record_refusal(payer: billing.Payer, error: evolink.EvoLinkError, model: str) -> None:
    """Say on the key why EvoLink refused it: disabled, resting until midnight, or not
    for this model (the environment's key has no row to say it on)."""
    if payer.key:
        payer.key.record_refusal(error.status, error.message, code=error.code, model=model)


class ModelGone(Exception):
    """EvoLink does not offer the model (400 model not found, or 403 for every key):
    nothing was created upstream."""


class AllKeysRefused(Exception):
    """Every key of the team answered 401 / 402 / 403: nothing was created upstream."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def send_with_failover(
    payers: list[billing.Payer],
    send: Callable[[billing.Payer], evolink.Task],
    generation: Generation,
) -> tuple[billing.Payer, evolink.Task]:
    """One create (`send`, at most one POST each) with the team's keys in turn.

    A 401 / 402 / 403 means EvoLink created nothing, so the next key may safely try (the
    refusal is recorded on the key: disabled, resting until midnight, or not for this
    model); any other error is the caller's to classify (raised as it came). Raises
    ModelGone when EvoLink does not offer the model, AllKeysRefused when every key
    refused. Shared by whole jobs and by the upstream tasks of a split job (fanout.py),
    so the key rules live here once."""
    refusals: list[str] = []
    model_denied = 0
    for payer in payers:
        try:
            task = send(payer)
        except evolink.EvoLinkError as error:
            outcome = _classify_create_error(error)
            if outcome == MODEL_GONE:
                raise ModelGone(error.message) from error
            if outcome != NEXT_KEY:
                raise
            _record_refusal(payer, error, generation.model)
            refusals.append(f"{payer.label}: {error.message}")
            model_denied += error.code in billing.MODEL_DENYING_CODES
            continue
        if payer.key:
            payer.key.record_use()
        return payer, task
    if refusals and model_denied == len(refusals):
        # 403 model_access_denied for every key: for this team the model is gone.
        raise ModelGone("; ".join(refusals))
    raise AllKeysRefused(refusals)


def noting_requests(
    pk: int, send: Callable[[billing.Payer], evolink.Task]
) -> Callable[[billing.Payer], evolink.Task]:
    """`send`, keeping the x-request-id of each answer (or refusal) on the job: EvoLink's
    support asks for it. A 429 also rests its key (pacing.py)."""

    def noted(payer: billing.Payer) -> evolink.Task:
        try:
            task = send(payer)
        except evolink.EvoLinkError as error:
            Generation.objects.note_request(pk, "create", error.request_id, error.status)
            if error.status == 429:
                # EvoLink's limits are per key: this key rests, the others go on.
                pacing.KEYS.rate_limited(payer.key_id, error.retry_after)
            raise
        Generation.objects.note_request(pk, "create", task.request_id, 200)
        return task

    return noted


def no_payer_reason(generation: Generation) -> tuple[str, str]:
    """Why no key may pay for this job (code, message): the model refused to every key,
    every key resting until midnight, or no key at all. Nothing was sent."""
    if billing.payers_for(generation.team):
        # Keys exist, but EvoLink refused this model to every one of them before.
        return "model_not_found", availability.gone_message(generation.model)
    if until := billing.resting_until(generation.team):
        message = stored_messages.KEYS_RESTING % {
            "time": timezone.localtime(until).strftime("%Y-%m-%d %H:%M")
        }
        return "keys_resting", message
    return "no_api_key", _no_key_message()


# Stored in English, shown in each reader's language (playground/stored_messages.py).
def _no_key_message() -> str:
    return stored_messages.NO_API_KEY
