"""What the OpenAPI document says beyond what drf-spectacular finds in the views: how API clients authenticate, and
the error responses every operation can give, in the contract's one error shape (config/errors.py).

Checked by running schemathesis against a live server (tests/config/test_schemathesis.py).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

METHODS = ("get", "post", "put", "patch", "delete")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error, on every endpoint: a code for programs and a sentence for people.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "pattern": "^[a-z0-9_]+$", "example": "not_found"},
                "detail": {"type": "string", "minLength": 1},
                "fields": {
                    "type": "object",
                    "description": "For `invalid`: the messages of each field that was refused.",
                    "additionalProperties": True,
                },
            },
            "required": ["code", "detail"],
            "additionalProperties": False,
        }
    },
    "required": ["error"],
    "additionalProperties": False,
}

# The statuses any operation may answer with, and what they mean there.
GENERAL = {
    "401": "`not_authenticated`, `authentication_failed`: no credentials, or a token that is not valid, has expired "
    "or was revoked.",
    "403": "`forbidden` (the caller's role may not do this), `csrf_failed` (a browser session without its CSRF "
    "token), `otp_enrolment_required`.",
    "406": "`not_acceptable`: the Accept header asks for a format the endpoint does not give.",
    "429": "`throttled`: too many requests; retry after the `Retry-After` header's seconds.",
}
WITH_INPUT = {
    "400": "`invalid` (see `fields`) or `malformed`: the request's parameters or body were refused; `unknown_region` "
    "(the reports): a region code they do not know, the known ones listed in `detail`."
}
# Writes: the contract's generic meanings; a view that declares its own codes for these statuses keeps its wording.
WRITES = {
    "409": "A conflict with the current state: `stale_version` (reload and retry), `agreement_final`, ….",
    "422": "A rule of the domain refused it; the code names the rule (CONTRACT.md section 4).",
}
WITH_PATH_IDS = {"404": "`not_found`: no such object, or one outside the caller's forums."}
WITH_BODY = {
    "413": "`payload_too_large`: the body is over the limit (DJANGO_MAX_BODY_BYTES, 1 MiB by default).",
    "415": "`unsupported_media_type`: the body is not `application/json`.",
}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token <key>` (CONTRACT.md section 3), for the accounts app's hashed, expiring tokens."""

    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "tokenAuth"
    match_subclasses = True
    priority = -1  # An extension of the accounts app's own, if it gets one, wins.

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`, the key from `POST /api/auth/token/`.",
        }


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: every operation's error responses, in the error shape."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            statuses = dict(GENERAL)
            if operation.get("parameters") or operation.get("requestBody"):
                statuses.update(WITH_INPUT)
            if "{" in path:
                statuses.update(WITH_PATH_IDS)
            if any(p.get("name") == "page" for p in operation.get("parameters", [])):
                statuses.setdefault("404", "`not_found`: a page past the last (`Invalid page.`).")
            if operation.get("requestBody"):
                statuses.update(WITH_BODY)
            if method != "get":
                statuses.update(WRITES)
            for status, description in statuses.items():
                responses.setdefault(status, _error_response(description))
            operation["responses"] = responses = dict(sorted(responses.items()))
            for status, response in responses.items():
                # What a view declared with a description only (its codes) gets the shape too.
                if status[0] in "45" and "content" not in response:
                    response["content"] = _error_response("")["content"]
    return result
