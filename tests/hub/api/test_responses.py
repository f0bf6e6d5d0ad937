"""Answers are encoded through their documented model: a field the model lacks, or an answer made
any other way, is the hub's bug (a 500 naming the model), never silently sent."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from hub.api.openapi import ApiRoutes
from hub.api.responses import Office, Ok, reply

OFFICE = {
    "id": 1,
    "code": "TW",
    "name": "Trụ sở Tiếp công dân Trung ương",
    "level": "central",
    "parent_id": None,
    "has_bridge_point": True,
    "address": "",
    "depth": 0,
}


def test_an_answer_is_exactly_its_model() -> None:
    response = reply(Office, OFFICE, 201)
    assert response.status == 201
    assert response.text is not None and '"depth":0' in response.text.replace(" ", "")


def test_an_undeclared_or_missing_field_is_refused_not_sent() -> None:
    with pytest.raises(RuntimeError, match="Office"):
        reply(Office, {**OFFICE, "path": "/1/"})  # the office path is no part of the answer
    with pytest.raises(RuntimeError, match="Office"):
        reply(Office, {k: v for k, v in OFFICE.items() if k != "depth"})


async def test_the_registry_refuses_an_answer_made_with_another_model_or_status() -> None:
    routes = ApiRoutes()

    @routes.route("GET", "/api/v1/raw", "made by hand", response=Ok)
    async def raw(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    @routes.route("POST", "/api/v1/made", "made as documented", response=Ok, status=201)
    async def made(_request: web.Request) -> web.Response:
        return reply(Ok, {"ok": True}, 201)

    @routes.route("POST", "/api/v1/wrong", "201 documented, 200 sent", response=Ok, status=201)
    async def wrong_status(_request: web.Request) -> web.Response:
        return reply(Ok, {"ok": True})

    with pytest.raises(RuntimeError, match="documented answer is Ok 200"):
        await raw(make_mocked_request("GET", "/api/v1/raw"))
    assert (await made(make_mocked_request("POST", "/api/v1/made"))).status == 201
    with pytest.raises(RuntimeError, match="documented answer is Ok 201"):
        await wrong_status(make_mocked_request("POST", "/api/v1/wrong"))


def test_a_path_parameter_must_be_declared() -> None:
    with pytest.raises(TypeError, match="PATH_PARAMS"):
        ApiRoutes().route("GET", "/api/v1/things/{slug}", "undeclared", response=Ok)
