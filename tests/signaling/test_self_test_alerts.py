"""A bad self-test raises its office's self_test_failed alert on the operators' board at once
(the `alert` event, from a real hub), and a later test that passes closes it."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.fixtures_hub import HubFactory
from tests.signaling.live_hub import Client, Rest, wait_for

pytestmark = pytest.mark.timeout(60)


def _self_test_alerts(operator: Client, office_id: int) -> list[dict[str, Any]]:
    return [
        a
        for a in operator.of("alert")
        if a["kind"] == "self_test_failed" and a["office_id"] == office_id
    ]


async def test_a_bad_self_test_alerts_the_operators_and_a_good_one_clears_it(
    hub_server: HubFactory,
) -> None:
    hub = await hub_server()
    async with aiohttp.ClientSession() as session:
        rest = Rest(hub.url, session)
        site = await rest.login("staff.hungyen")
        hy = (await rest.offices(site))["HY"]
        # Hưng Yên's own operator and the centre's both watch (the alert goes up the tree).
        operators = [
            await Client().connect(hub.url, (await rest.login(name)).token)
            for name in ("operator.hungyen", "operator")
        ]
        try:
            for operator in operators:
                assert (await operator.call("watch_sites"))["ok"] is True
            bad = await rest.call(
                site,
                "POST",
                "/api/v1/self-tests",
                {"score": "bad", "reasons": ["camera_blocked"]},
            )
            for operator in operators:
                await wait_for(
                    lambda o=operator: bool(_self_test_alerts(o, hy)),  # type: ignore[misc]
                    5,
                    "the self_test_failed alert on the board",
                )
                (alert,) = _self_test_alerts(operator, hy)
                assert alert["open"] is True and alert["hearing_id"] is None, alert
                assert alert["detail"]["self_test_id"] == bad["id"]
            # A second bad test while it is open raises nothing new.
            await rest.call(
                site, "POST", "/api/v1/self-tests", {"score": "bad", "reasons": ["rtt_high"]}
            )
            good = await rest.call(site, "POST", "/api/v1/self-tests", {"score": "good"})
            await wait_for(
                lambda: len(_self_test_alerts(operators[0], hy)) == 2,
                5,
                "the alert closed on the board",
            )
            opened, closed = _self_test_alerts(operators[0], hy)
            assert closed["id"] == opened["id"] and closed["open"] is False
            assert closed["detail"]["passed_self_test_id"] == good["id"]
        finally:
            for operator in operators:
                await operator.close()
