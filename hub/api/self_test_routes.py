"""Self-tests: a site's page posts the result of its test call; operators read them."""

from __future__ import annotations

from aiohttp import web

from hub.api.edge import read_body, read_query
from hub.api.keys import DATABASE, SELF_TEST_HOOKS, actor_of
from hub.api.registry import api
from hub.api.responses import SelfTest, SelfTestList, reply
from hub.api.schemas import SelfTestBody, SelfTestFilter
from hub.domain.self_tests import Score, SelfTestDraft
from hub.services import self_tests


@api.route(
    "POST",
    "/api/v1/self-tests",
    "Keep a self-test result of the caller's own site (a bad one raises an alert)",
    body=SelfTestBody,
    response=SelfTest,
    status=201,
)
async def create_self_test(request: web.Request) -> web.Response:
    body = await read_body(request, SelfTestBody)
    actor = actor_of(request)
    draft = SelfTestDraft(
        office_id=actor.office_id,
        user_id=actor.user_id,
        score=Score(body.score),
        reasons=tuple(body.reasons),
        figures=body.figures.model_dump(exclude_none=True),
    )
    hooks = request.app[SELF_TEST_HOOKS]
    async with request.app[DATABASE].transaction() as session:
        kept = await self_tests.record(session, actor, draft, hooks)
        out = await self_tests.view_of(session, kept.row)
    # After the commit: operators hear of an alert only once it is durable.
    await self_tests.announce(hooks, kept)
    return reply(SelfTest, out, 201)


@api.route(
    "GET",
    "/api/v1/self-tests",
    "Self-test results in scope, newest first (latest=true: each office's last)",
    query=SelfTestFilter,
    response=SelfTestList,
)
async def list_self_tests(request: web.Request) -> web.Response:
    q = read_query(request, SelfTestFilter)
    async with request.app[DATABASE].transaction() as session:
        items, total = await self_tests.list_(
            session,
            actor_of(request),
            office_id=q.office_id,
            latest=q.latest,
            limit=q.limit,
            offset=q.offset,
        )
    return reply(SelfTestList, {"items": items, "total": total})
