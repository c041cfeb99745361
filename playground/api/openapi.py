"""The OpenAPI 3.1 description served at /v1/openapi.json: what the images API takes
and answers, written once here beside the code (tests check the answers against it)."""

from __future__ import annotations

from typing import Any

from playground import catalogue

ERROR = {"$ref": "#/components/schemas/Error"}


def _error_responses(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "The request is not valid: `param` names the field, `message` says why.",
        401: "No token, an unknown one, or one revoked or expired.",
        402: "The team's budget or the member's cap would be passed, or no key can pay.",
        403: "The token's member is a viewer.",
        404: "No such job, or the model does not exist or is switched off for the team.",
        405: "Another method is expected.",
        429: "Too many requests with this token, or failed authentications from here.",
        424: "The job's outcome is uncertain (it may be charged): see its page.",
        502: "The job failed upstream for a reason that may pass.",
    }
    return {
        str(status): {
            "description": reasons[status],
            "content": {"application/json": {"schema": ERROR}},
        }
        for status in statuses
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


CREDITS = {"type": ["number", "null"]}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["message", "type", "param", "code"],
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "param": {"type": ["string", "null"]},
                    "code": {"type": ["string", "null"]},
                },
            }
        },
    },
    "GenerateRequest": {
        "type": "object",
        "required": ["prompt"],
        "properties": {
            "prompt": {"type": "string", "description": "What to draw."},
            "model": {"type": "string", "enum": list(catalogue.MODEL_IDS)},
            "n": {"type": "integer", "minimum": 1, "maximum": 10},
            "size": {
                "type": "string",
                "description": "auto, a listed size such as 1024x1536, a ratio such as "
                "16:9 (gpt-image-2, with `resolution`), or a custom WxH (gpt-image-2).",
            },
            "quality": {"type": "string", "enum": ["auto", "low", "medium", "high"]},
            "background": {"type": "string", "enum": ["auto", "opaque", "transparent"]},
            "output_format": {"type": "string", "enum": ["png", "jpeg", "webp"]},
            "response_format": {"type": "string", "enum": ["url", "b64_json"]},
            "resolution": {"type": "string", "enum": ["1K", "2K", "4K"]},
            "private": {"type": "boolean", "description": "Only me (default: the token's)."},
            "user": {"type": "string", "description": "Accepted and ignored."},
        },
    },
    "Usage": {
        "type": "object",
        "properties": {
            "estimated_credits": CREDITS,
            "charged_credits": CREDITS,
            "counted_credits": CREDITS,
            "charge": {
                "type": "string",
                "enum": ["charged", "not_charged", "reserved", "estimated", "uncertain"],
            },
            "evolink": {"type": ["object", "null"]},
        },
    },
    "Image": {
        "type": "object",
        "properties": {
            "url": {"type": "string", "description": "Signed; works for an hour."},
            "b64_json": {"type": "string"},
        },
    },
    "ImagesResponse": {
        "type": "object",
        "required": ["created", "data", "id", "usage"],
        "properties": {
            "created": {"type": "integer"},
            "id": {"type": "string", "format": "uuid"},
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/Image"}},
            "size": {"type": "string"},
            "quality": {"type": "string"},
            "background": {"type": "string"},
            "output_format": {"type": "string"},
            "usage": {"$ref": "#/components/schemas/Usage"},
            "job_url": {"type": "string"},
        },
    },
    "Job": {
        "type": "object",
        "required": ["id", "object", "status", "model", "data", "usage", "url"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "object": {"const": "image.job"},
            "number": {"type": ["integer", "null"]},
            "status": {
                "type": "string",
                "enum": [
                    "queued",
                    "submitting",
                    "running",
                    "archiving",
                    "completed",
                    "failed",
                    "uncertain",
                    "timed_out",
                    "cancelled",
                ],
            },
            "progress": {"type": "integer"},
            "model": {"type": "string"},
            "prompt": {"type": "string"},
            "size": {"type": "string"},
            "quality": {"type": "string"},
            "n": {"type": "integer"},
            "background": {"type": ["string", "null"]},
            "output_format": {"type": ["string", "null"]},
            "private": {"type": "boolean"},
            "made_by": {"type": "string"},
            "api_token": {"type": ["string", "null"], "description": "The token's name."},
            "created": {"type": "integer"},
            "finished": {"type": ["integer", "null"]},
            "images_returned": {"type": ["integer", "null"]},
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/Image"}},
            "error": {
                "type": ["object", "null"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
            "usage": {"$ref": "#/components/schemas/Usage"},
            "url": {"type": "string"},
            "page": {"type": "string"},
        },
    },
    "JobList": {
        "type": "object",
        "required": ["object", "data", "has_more"],
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}},
            "has_more": {"type": "boolean"},
            "last_id": {"type": ["string", "null"]},
        },
    },
    "ModelList": {
        "type": "object",
        "required": ["object", "data"],
        "properties": {
            "object": {"const": "list"},
            "data": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "object"],
                    "properties": {
                        "id": {"type": "string"},
                        "object": {"const": "model"},
                        "created": {"type": "integer"},
                        "owned_by": {"type": "string"},
                        "name": {"type": "string"},
                        "takes_references": {"type": "boolean"},
                        "takes_mask": {"type": "boolean"},
                        "n_max": {"type": "integer"},
                    },
                },
            },
        },
    },
}


WAIT = {
    "name": "wait",
    "in": "query",
    "required": False,
    "description": "Seconds to wait for the images (at most the server's "
    "API_WAIT_SECONDS, 25 by default).",
    "schema": {"type": "number", "minimum": 0},
}

# The generation fields as form fields, plus the files.
EDIT_REQUEST = {
    "type": "object",
    "required": ["image", "prompt"],
    "properties": {
        **{
            name: {"type": "string"}
            for name in SCHEMAS["GenerateRequest"]["properties"]
            if name not in ("n", "private")
        },
        "n": {"type": "integer", "minimum": 1, "maximum": 10},
        "private": {"type": "boolean"},
        "image": {"type": "string", "format": "binary"},
        "image[]": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "mask": {"type": "string", "format": "binary"},
    },
}


def description(server: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "GPT Image playground images API",
            "version": "1",
            "description": "OpenAI's images API, served by the playground under the "
            "team's budgets, queue and history. Authenticate with a personal API token "
            "(the API tokens page): `Authorization: Bearer pgk_…`.",
        },
        "servers": [{"url": server}],
        "security": [{"token": []}],
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": {
            "/images/generations": {
                "post": {
                    "operationId": "createImage",
                    "summary": "Make images; answers when they are ready, else 202.",
                    "parameters": [WAIT],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/GenerateRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": _json(
                            {"$ref": "#/components/schemas/ImagesResponse"}, "The images."
                        ),
                        "202": _json(
                            {"$ref": "#/components/schemas/Job"},
                            "Not ready within the wait: follow the job's `url`.",
                        ),
                        **_error_responses(400, 401, 402, 403, 404, 405, 424, 429, 502),
                    },
                }
            },
            "/images/edits": {
                "post": {
                    "operationId": "editImage",
                    "summary": "Make images from one or more images (and a mask for the "
                    "first, with a model that takes masks); answers as generations do.",
                    "parameters": [WAIT],
                    "requestBody": {
                        "required": True,
                        "content": {"multipart/form-data": {"schema": EDIT_REQUEST}},
                    },
                    "responses": {
                        "200": _json(
                            {"$ref": "#/components/schemas/ImagesResponse"}, "The images."
                        ),
                        "202": _json(
                            {"$ref": "#/components/schemas/Job"},
                            "Not ready within the wait: follow the job's `url`.",
                        ),
                        **_error_responses(400, 401, 402, 403, 404, 405, 424, 429, 502),
                    },
                }
            },
            "/jobs": {
                "get": {
                    "operationId": "listJobs",
                    "summary": "The team's jobs the token's member may see, newest first.",
                    "parameters": [
                        {
                            "name": "scope",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "enum": ["team", "mine", "token"]},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                        },
                        {
                            "name": "after",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "format": "uuid"},
                        },
                    ],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/JobList"}, "A page."),
                        **_error_responses(400, 401, 405, 429),
                    },
                }
            },
            "/jobs/{id}": {
                "get": {
                    "operationId": "getJob",
                    "summary": "One job: its state, and its images once done.",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "format": "uuid"},
                        },
                        {
                            "name": "response_format",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "enum": ["url", "b64_json"]},
                        },
                    ],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Job"}, "The job."),
                        **_error_responses(400, 401, 404, 405, 429),
                    },
                }
            },
            "/models": {
                "get": {
                    "operationId": "listModels",
                    "summary": "The models the token's team may use.",
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/ModelList"}, "Models."),
                        **_error_responses(401, 405, 429),
                    },
                }
            },
        },
    }
