"""Offices (the tree of reception boards) and user accounts."""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import read_body, read_query
from hub.api.keys import DATABASE, PASSWORDS, actor_of
from hub.api.registry import api
from hub.api.responses import Office, OfficeList, User, UserList, reply
from hub.api.schemas import OfficeBody, OfficeFilter, UserBody, UserFilter
from hub.domain.offices import OfficeDraft
from hub.domain.users import Role, UserDraft
from hub.services import offices


@api.route(
    "GET",
    "/api/v1/offices",
    "List offices (the public directory)",
    query=OfficeFilter,
    response=OfficeList,
)
async def list_offices(request: web.Request) -> web.Response:
    q = read_query(request, OfficeFilter)
    async with request.app[DATABASE].transaction() as session:
        rows = await offices.list_offices(session, level=q.level, bridge_only=q.bridge_only)
    items = [offices.office_view(r) for r in rows]
    return reply(OfficeList, {"items": items, "total": len(items)})


@api.route(
    "POST", "/api/v1/offices", "Add an office (admin)", body=OfficeBody, response=Office, status=201
)
async def create_office(request: web.Request) -> web.Response:
    body = await read_body(request, OfficeBody)
    draft = OfficeDraft(body.code, body.name, body.level, body.parent_id, body.has_bridge_point)
    async with request.app[DATABASE].transaction() as session:
        row = await offices.create_office(session, actor_of(request), draft, body.address)
        out = offices.office_view(row)
    return reply(Office, out, 201)


@api.route(
    "GET", "/api/v1/users", "Users of the offices in scope", query=UserFilter, response=UserList
)
async def list_users(request: web.Request) -> web.Response:
    q = read_query(request, UserFilter)
    async with request.app[DATABASE].transaction() as session:
        rows = await offices.list_users(session, actor_of(request), role=q.role, office_id=q.office)
    items = [offices.user_view(u, o) for u, o in rows]
    return reply(UserList, {"items": items, "total": len(items)})


@api.route(
    "POST", "/api/v1/users", "Add a user account (admin)", body=UserBody, response=User, status=201
)
async def create_user(request: web.Request) -> web.Response:
    body = await read_body(request, UserBody)
    draft = UserDraft(
        body.username, body.display_name, Role(body.role), body.office_id, body.password
    )
    async with request.app[DATABASE].transaction() as session:
        row = await offices.add_user(session, actor_of(request), draft, request.app[PASSWORDS])
        out = offices.user_view(row)
    return reply(User, out, 201)
