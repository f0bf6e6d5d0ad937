"""Route registry that also writes the OpenAPI 3.1 description of the API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from hub.api.edge import Handler


@dataclass(frozen=True)
class Operation:
    """One documented operation."""

    method: str
    path: str
    summary: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    public: bool


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
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        public: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Register a handler and its documentation."""

        def wrap(handler: Handler) -> Handler:
            self.table.route(method, path)(handler)
            self.operations.append(Operation(method, path, summary, body, query, public))
            return handler

        return wrap


def build_spec(operations: list[Operation]) -> dict[str, Any]:
    """The OpenAPI document for the registered operations."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    error = {
        "description": "error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for op in operations:
        entry: dict[str, Any] = {
            "summary": op.summary,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {}}},
                "4XX": error,
            },
        }
        if not op.public:
            entry["security"] = [{"bearer": []}, {"cookie": []}]
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
            for name in _path_params(op.path)
        ]
        if op.query is not None:
            qschema = op.query.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, prop in qschema.get("properties", {}).items():
                params.append({"name": name, "in": "query", "required": False, "schema": prop})
            schemas.update(qschema.pop("$defs", {}))
        if params:
            entry["parameters"] = params
        if op.body is not None:
            bschema = op.body.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(bschema.pop("$defs", {}))
            schemas[op.body.__name__] = bschema
            entry["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}
                    }
                },
            }
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    schemas["Error"] = {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    "code": {"type": "string"},
                },
                "required": ["message", "fields"],
            }
        },
    }
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
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "tcd_session"},
            },
        },
    }


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]
