"""Errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}}, so that
OpenAI's own clients raise their usual exceptions with our sentences in them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import JsonResponse

from playground.apitokens.auth import AuthFailure

# Fields of the studio's forms that OpenAI's body spells otherwise: a custom size is
# `size` "WxH" there, and the resolution tier goes with a ratio `size`.
PARAM_OF_FIELD = {"width": "size", "height": "size", "resolution": "size"}


@dataclass
class ApiError(Exception):
    status: int
    message: str
    code: str
    param: str | None = None
    type: str = "invalid_request_error"
    headers: dict[str, str] | None = None

    def __str__(self) -> str:
        return self.message


def body(message: str, *, type: str, code: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def respond(error: ApiError | AuthFailure) -> JsonResponse:
    if isinstance(error, AuthFailure):
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else {}
        if error.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="playground"'
        error = ApiError(error.status, error.message, error.code, type=error.type, headers=headers)
    response = JsonResponse(
        body(error.message, type=error.type, code=error.code, param=error.param),
        status=error.status,
    )
    for name, value in (error.headers or {}).items():
        response[name] = value
    return response


def from_form(form: forms.Form) -> ApiError:
    """The first field the form refused, with every message it gave for it (the
    studio's own sentences), as one error naming OpenAI's parameter."""
    for field, errors in form.errors.as_data().items():
        messages = [message for error in errors for message in error.messages]
        code = next((error.code for error in errors if error.code), None) or "invalid_value"
        param = None if field == NON_FIELD_ERRORS else PARAM_OF_FIELD.get(field, field)
        return ApiError(400, " ".join(messages), code, param=param)
    return ApiError(400, "Invalid request.", "invalid_value")
