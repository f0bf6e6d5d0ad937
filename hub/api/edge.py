"""The API's edge: error responses, sign-in and CSRF checks, body and query decoding."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from hub.api.keys import (
    ACTOR,
    CSRF,
    CSRF_HEADER,
    DATABASE,
    SESSION_COOKIE,
    TOKEN,
)
from hub.api.responses import Error, reply
from hub.domain.errors import DomainError, Forbidden, Unauthorized, ValidationFailed
from hub.services import auth

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)

PUBLIC_API = {"/api/v1/auth/login", "/api/v1/openapi.json"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def error_response(
    status: int, message: str, fields: dict[str, str] | None = None, code: str = "error"
) -> web.Response:
    """The one error shape: {"error": {"message", "fields", "code"}} (responses.Error)."""
    return reply(
        Error, {"error": {"message": message, "fields": fields or {}, "code": code}}, status
    )


def _field_errors(exc: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        # Bodies are flat: keep the field and any list index, drop pydantic's union-member tags
        # ('heard_from.datetime' is reported as 'heard_from').
        loc = err["loc"]
        where = (
            ".".join([str(loc[0]), *(str(p) for p in loc[1:] if isinstance(p, int))])
            if loc
            else "body"
        )
        out.setdefault(where, err["msg"])
    return out


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into a JSON error naming the problem; never a stack trace."""
    try:
        return await handler(request)
    except DomainError as exc:
        return error_response(exc.status, exc.message, exc.fields, exc.code)
    except ValidationError as exc:
        fields = _field_errors(exc)
        first = next(iter(fields.items()))
        return error_response(422, f"invalid {first[0]}: {first[1]}", fields, "validation_failed")
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or exc.status < 400:
            raise
        return error_response(exc.status, exc.reason, None, "http_error")
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal error; the request was not applied", None, "internal")


def _token_from(request: web.Request) -> tuple[str | None, bool]:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


async def authenticate(request: web.Request) -> None:
    """Resolve the request's sign-in into request[ACTOR]; Unauthorized if there is none."""
    token, by_cookie = _token_from(request)
    if not token:
        raise Unauthorized("sign in first: send 'Authorization: Bearer <token>'")
    # One read, outside any transaction: a request's sign-in is one statement.
    async with request.app[DATABASE].reads() as connection:
        actor, csrf = await auth.resolve_session(connection, token)
    # A cookie is sent by the browser on its own, so a state change needs proof that our page
    # made the request: the CSRF token it read from its own cookie, echoed in a header.
    if by_cookie and request.method not in SAFE_METHODS:
        if request.headers.get(CSRF_HEADER) != csrf:
            raise Forbidden(f"missing or wrong {CSRF_HEADER} header (CSRF protection)")
    request[ACTOR] = actor
    request[TOKEN] = token
    request[CSRF] = csrf


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every /api/v1 call but sign-in and the OpenAPI document needs a valid sign-in."""
    if request.path.startswith("/api/") and request.path not in PUBLIC_API:
        await authenticate(request)
    return await handler(request)


async def read_body(request: web.Request, model: type[M]) -> M:
    """Decode and validate a JSON body; errors name the field and the problem."""
    if request.content_type != "application/json":
        raise DomainErrorWithStatus(
            415, "send the body as JSON with 'Content-Type: application/json'"
        )
    raw = await request.read()
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise DomainErrorWithStatus(400, "body is not valid JSON: nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise DomainErrorWithStatus(400, f"body is not valid JSON: {exc}") from exc
    _refuse_nul(data, "body")
    return model.model_validate_json(raw)


def _refuse_nul(value: Any, where: str) -> None:
    """NUL characters have no place in any field, and PostgreSQL cannot store them."""
    if isinstance(value, str):
        if "\x00" in value:
            field = where.split(".", 1)[-1]
            raise ValidationFailed(
                f"invalid {field}: contains a NUL character", {field: "contains a NUL character"}
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, where)
            _refuse_nul(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_nul(item, f"{where}.{index}")


def read_query(request: web.Request, model: type[M]) -> M:
    """Validate the query string against a model (repeated keys are an error)."""
    data: dict[str, Any] = {}
    for key in request.query:
        values = request.query.getall(key)
        if len(values) > 1:
            raise DomainErrorWithStatus(400, f"query parameter {key} given more than once")
        data[key] = values[0]
    _refuse_nul(data, "query")
    return model.model_validate(data)


def path_id(request: web.Request, name: str) -> int:
    """An integer id from the URL, or 404 naming it."""
    raw = request.match_info[name]
    # isascii: '²'.isdigit() is true; the bound: ids are 32-bit on PostgreSQL.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > MAX_ID:
        raise DomainErrorWithStatus(404, f"no such record: {name} {raw!r}")
    return int(raw)


MAX_ID = 2**31 - 1


class DomainErrorWithStatus(DomainError):
    """An edge error with an explicit HTTP status (bad JSON, wrong content type, ...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = "bad_request" if status == 400 else f"http_{status}"
