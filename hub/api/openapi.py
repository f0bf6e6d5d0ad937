"""Route registry that also writes the OpenAPI 3.1 description of the API: bodies, queries, path
parameters, answers and errors, each generated from the models the handlers use."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from hub.api.edge import Handler
from hub.api.responses import ENCODED_AS, Error, Out
from hub.api.schemas import PATH_PARAMS

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Operation:
    """One documented operation."""

    method: str
    path: str
    summary: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[Out]
    status: int
    public: bool
    # A download's media type (its answer is File): documented as binary, not as JSON.
    media_type: str | None = None

    @property
    def path_params(self) -> list[str]:
        """The names of the path's {placeholders}, in order."""
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]


class ApiRoutes:
    """Collects handlers with their schemas, for aiohttp's router and for openapi.json."""

    def __init__(self) -> None:
        self.table = web.RouteTableDef()
        self.operations: list[Operation] = []

    def route(
        self,
        method: str,
        path: str,
        summary: str,
        *,
        response: type[Out],
        status: int = 200,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        public: bool = False,
        media_type: str | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register a handler, its documentation and the answer it must give: a handler whose
        response was not encoded with `response` (hub.api.responses.reply) at `status` fails."""
        op = Operation(method, path, summary, body, query, response, status, public, media_type)
        undeclared = [name for name in op.path_params if name not in PATH_PARAMS]
        if undeclared:
            raise TypeError(f"{method} {path}: declare {undeclared} in schemas.PATH_PARAMS")

        def wrap(handler: Handler) -> Handler:
            @functools.wraps(handler)
            async def checked(request: web.Request) -> web.StreamResponse:
                answer = await handler(request)
                if answer.get(ENCODED_AS) != response.__name__ or answer.status != status:
                    raise RuntimeError(
                        f"{method} {path} answered {answer.get(ENCODED_AS)} {answer.status}; "
                        f"its documented answer is {response.__name__} {status}"
                    )
                return answer

            self.table.route(method, path)(checked)
            self.operations.append(op)
            return checked

        return wrap


class _Schemas:
    """components.schemas, filled from models; one name stands for one schema."""

    def __init__(self) -> None:
        self.all: dict[str, Any] = {}

    def add(self, name: str, schema: dict[str, Any]) -> None:
        if self.all.setdefault(name, schema) != schema:
            raise TypeError(f"two different schemas are both named {name}")

    def model(self, model: type[BaseModel], mode: str = "validation") -> dict[str, Any]:
        """A $ref to the model's schema, its own definitions added."""
        schema = model.model_json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
        for name, sub in schema.pop("$defs", {}).items():
            self.add(name, sub)
        self.add(model.__name__, schema)
        return {"$ref": REF.format(model=model.__name__)}


def _json(ref: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref}}}


def _errors(op: Operation, error: dict[str, Any]) -> dict[str, Any]:
    """The failures an operation can answer, all in the one Error shape."""
    out: dict[str, Any] = {}
    if op.body is not None or op.query is not None:
        out["400"] = _json(error, "malformed request: not JSON, a repeated query parameter")
    if not op.public:
        out["401"] = _json(error, "not signed in, or the sign-in expired")
        out["403"] = _json(error, "the role may not do this, or the CSRF header is missing")
    if op.path_params:
        out["404"] = _json(error, "no such record in the caller's scope")
    if op.method in ("POST", "PATCH", "PUT") and op.path_params:
        out["409"] = _json(error, "the record's state does not allow this now")
    if op.body is not None:
        out["413"] = _json(error, "the body is too large")
        out["415"] = _json(error, "the body is not sent as application/json")
    if op.body is not None or op.query is not None:
        out["422"] = _json(error, "a field is invalid; error.fields names each")
    out["4XX"] = _json(error, "any other refusal (e.g. 429 too many sign-in attempts)")
    if op.media_type is not None:
        out["503"] = _json(error, "too many documents are being prepared; try again shortly")
    out["500"] = _json(error, "internal error; the request was not applied")
    return out


def build_spec(operations: list[Operation]) -> dict[str, Any]:
    """The OpenAPI document for the registered operations."""
    paths: dict[str, dict[str, Any]] = {}
    schemas = _Schemas()
    error = schemas.model(Error, "serialization")
    for op in operations:
        if op.media_type is not None:
            ok = {
                "description": "the file",
                "content": {op.media_type: {"schema": {"type": "string", "format": "binary"}}},
            }
        else:
            ok = _json(schemas.model(op.response, "serialization"), "OK")
        entry: dict[str, Any] = {
            "summary": op.summary,
            "operationId": f"{op.method.lower()}_{_operation_name(op.path)}",
            "responses": {str(op.status): ok, **_errors(op, error)},
        }
        if not op.public:
            entry["security"] = [{"bearer": []}, {"cookie": []}]
        params = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": TypeAdapter(PATH_PARAMS[name]).json_schema(),
            }
            for name in op.path_params
        ]
        if op.query is not None:
            qschema = op.query.model_json_schema(ref_template=REF)
            required = set(qschema.get("required", ()))
            for name, sub in qschema.pop("$defs", {}).items():
                schemas.add(name, sub)
            for name, prop in qschema.get("properties", {}).items():
                params.append(
                    {"name": name, "in": "query", "required": name in required, "schema": prop}
                )
        if params:
            entry["parameters"] = params
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schemas.model(op.body)}},
            }
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tcd-hub API",
            "version": "1",
            "description": "Joint online citizen-reception hearings: offices, hearings, "
            "petitions, session logs. Lists are {items, total}; errors are "
            "{error: {message, fields}}.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas.all,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "tcd_session"},
            },
        },
    }


def _operation_name(path: str) -> str:
    words = [p.strip("{}") for p in path.removeprefix("/api/v1/").split("/") if p]
    return "_".join(w.replace("-", "_").replace(".", "_") for w in words)
