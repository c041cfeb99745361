"""OpenAI's request bodies turned into the studio's form data, so that the same
per-model form (playground/generations/forms.py) judges an API request as it judges
a press of Generate, with the same messages.

What OpenAI's body spells differently: "auto" for a quality or a background means the
model's default here; a fixed-size model's "auto" size is its default size. A few
fields are accepted and ignored (`user`, `moderation`, `safety_identifier`: nothing
here uses them); anything else unknown is refused by name rather than dropped, so a
script never believes an option it sent was applied. Two extensions: `private`
("Only me", defaulting to the token's choice) and `resolution` (gpt-image-2's tier for
a ratio size such as "16:9").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from playground import catalogue
from playground.api.errors import ApiError
from playground.apitokens.models import ApiToken
from playground.teams import availability
from playground.teams.models import Team

RESPONSE_FORMATS = ("url", "b64_json")
# OpenAI answers its GPT Image models with base64 unless asked otherwise.
DEFAULT_RESPONSE_FORMAT = "b64_json"
IGNORED = frozenset({"user", "moderation", "safety_identifier"})
FIELDS = frozenset(
    {
        "model",
        "prompt",
        "n",
        "size",
        "quality",
        "background",
        "output_format",
        "response_format",
        "resolution",
        "private",
    }
)


@dataclass(frozen=True)
class ImageRequest:
    spec: catalogue.ModelSpec
    data: dict[str, str]  # the form's data, as the studio would post it
    response_format: str


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object, or a 400 saying what is wrong with it."""
    try:
        parsed = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        parsed = None
    if not isinstance(parsed, dict):
        raise ApiError(
            400,
            _("The body must be a JSON object (Content-Type: application/json)."),
            "invalid_json",
        )
    return parsed


def _text(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ApiError(
            400, _("%(param)s must be a string.") % {"param": name}, "invalid_type", param=name
        )
    return str(value)


def _flag(fields: Mapping[str, Any], name: str, default: bool) -> bool:
    value = fields.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "on", "false", "0", "off", ""):
        return value.lower() in ("true", "1", "on")
    raise ApiError(
        400, _("%(param)s must be true or false.") % {"param": name}, "invalid_type", param=name
    )


def model_of(team: Team, requested: str | None) -> catalogue.ModelSpec:
    """The model asked for (else the team's default), if the team may use it."""
    if requested is None:
        chosen = availability.model_or_default(team, None)
        if chosen is None:
            raise ApiError(
                404, _("No model is offered to this team."), "model_not_found", param="model"
            )
        return catalogue.MODELS[chosen]
    if requested not in catalogue.MODELS:
        raise ApiError(
            404,
            _("The model %(model)s does not exist here. GET /v1/models lists those you may use.")
            % {"model": requested},
            "model_not_found",
            param="model",
        )
    try:
        availability.require(team, requested)
    except availability.ModelOff as off:
        raise ApiError(404, str(off), "model_not_found", param="model") from None
    return catalogue.MODELS[requested]


def image_request(fields: Mapping[str, Any], team: Team, token: ApiToken) -> ImageRequest:
    """An OpenAI images body (a JSON object, or a multipart form's fields) as the data
    of the studio's form for its model."""
    unknown = sorted(name for name in fields if name not in FIELDS | IGNORED)
    if unknown:
        raise ApiError(
            400,
            _("Unknown parameter: %(param)s. This API takes: %(known)s.")
            % {"param": unknown[0], "known": ", ".join(sorted(FIELDS))},
            "unknown_parameter",
            param=unknown[0],
        )
    spec = model_of(team, _text(fields, "model"))
    data: dict[str, str] = {"model": spec.id, "prompt": _text(fields, "prompt") or ""}
    n = fields.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int | str)):
        raise ApiError(400, _("n must be a whole number."), "invalid_type", param="n")
    data["n"] = "1" if n is None else str(n)
    size = _text(fields, "size")
    if size in (None, "auto") and not spec.is_flexible:
        size = spec.default_size
    data["size"] = size or "auto"
    quality = _text(fields, "quality")
    data["quality"] = spec.default_quality if quality in (None, "auto") else str(quality)
    for name, offered, default in (
        ("background", spec.backgrounds, "opaque"),
        ("output_format", spec.output_formats, "png"),
    ):
        value = _text(fields, name)
        if value in (None, "auto"):
            continue
        if offered:
            data[name] = str(value)
        elif value != default:
            raise ApiError(
                400,
                _("%(model)s takes no %(param)s: only its default, %(default)s.")
                % {"model": spec.label, "param": name, "default": default},
                "unsupported_value",
                param=name,
            )
    if (resolution := _text(fields, "resolution")) is not None:
        data["resolution"] = resolution
    if _flag(fields, "private", token.only_me_default):
        data["private"] = "on"
    response_format = _text(fields, "response_format") or DEFAULT_RESPONSE_FORMAT
    if response_format not in RESPONSE_FORMATS:
        raise ApiError(
            400,
            _("response_format must be url or b64_json."),
            "invalid_value",
            param="response_format",
        )
    return ImageRequest(spec=spec, data=data, response_format=response_format)
