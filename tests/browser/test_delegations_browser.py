"""Issue 12's crowd delegation in real Chromium: the central office registers a crowd from Hưng
Yên on its form (home office suggested from the petitioners' addresses); Hưng Yên's staff start
page shows it at once, without a reload, and Bắc Giang's does not; the central leader opens the
joint hearing from the delegation's page; Hưng Yên's kiosk joins it; and the delegation, the
hearing and its petitions link to each other both ways, on the pages and in the API."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from tests.browser.sites import VN, HubApi, OpenSite

pytestmark = [pytest.mark.browser, pytest.mark.timeout(360)]


async def _petition(api: HubApi, office_id: int, name: str, address: str) -> dict[str, object]:
    body = {
        "type": "complaint",
        "office_id": office_id,
        "petitioner_name": name,
        "petitioner_address": address,
        "content": "Khiếu nại việc thu hồi đất làm cụm công nghiệp, bồi thường chưa thỏa đáng.",
        "subject_field": "Đất đai",
        "received_on": datetime.now(VN).date().isoformat(),
    }
    created: dict[str, object] = await api.call("POST", "/api/v1/petitions", body)
    return created


async def test_a_crowd_from_hung_yen_reaches_hung_yen_live_and_meets_in_a_joint_hearing(
    open_site: OpenSite, api: HubApi
) -> None:
    offices = await api.offices_by_code()
    tw, hy = offices["TW"]["id"], offices["HY"]["id"]
    # The register rows the crowd brought, taken down at the central office.
    first = await _petition(api, tw, "Đỗ Văn Hùng", "Thôn Đình Dù, xã Lạc Đạo, tỉnh Hưng Yên")
    second = await _petition(api, tw, "Vũ Thị Lan", "Số 12 phường Phố Hiến, tỉnh Hưng Yên")
    petition_ids = [int(str(first["id"])), int(str(second["id"]))]

    # Hưng Yên's staff and Bắc Giang's staff sit on their start pages, listening.
    hung_yen = await open_site("staff.hungyen")
    await hung_yen.page.goto("/staff")
    await hung_yen.page.wait_for_selector("#dl-live[data-state=connected]", timeout=15_000)
    bac_giang = await open_site("staff.bacgiang")
    await bac_giang.page.goto("/staff")
    await bac_giang.page.wait_for_selector("#dl-live[data-state=connected]", timeout=15_000)
    # Marks that would vanish with a reload.
    for site in (hung_yen, bac_giang):
        await site.page.evaluate("() => { window.__sameDocument = true; }")

    # The central office's staff registers the crowd on the form.
    central = await open_site("staff")
    form = central.page
    await form.goto("/staff/delegations/new")
    await form.wait_for_selector("#delegation-form[aria-busy=false]")
    await form.fill("#df-people", "14")
    await form.fill("#df-reps", "Đỗ Văn Hùng\nVũ Thị Lan\nNguyễn Văn Tuấn")
    await form.fill("#df-matter", "Khiếu nại tập thể về thu hồi đất làm cụm công nghiệp")
    await form.fill("#df-subject", "Đất đai")
    for petition in (first, second):
        await form.fill("#df-search", str(petition["case_code"]))
        pick = f'#df-found li[data-petition-id="{petition["id"]}"] button'
        await form.click(pick, timeout=10_000)
        await form.wait_for_selector(f'#df-chosen li[data-petition-id="{petition["id"]}"]')
    # Suggested from the two addresses: both lie in Hưng Yên.
    await form.wait_for_selector(f'#df-suggestion[data-office-id="{hy}"]', timeout=10_000)
    assert await form.input_value("#df-home") == str(hy)
    await form.click("#df-submit")
    await form.wait_for_url(re.compile(r"/staff/delegations/\d+$"), timeout=10_000)
    delegation_id = int(form.url.rstrip("/").rsplit("/", 1)[1])
    assert await form.text_content("#dl-home") == "Ban Tiếp công dân tỉnh Hưng Yên"
    assert await form.text_content("#dl-visit") == "Lần thứ 1"
    assert await form.is_visible("#dl-skipped")  # from a province straight to the centre

    # Hưng Yên's start page shows it, pushed, the same document still loaded.
    item = f'#dl-live-list li[data-delegation-id="{delegation_id}"]'
    await hung_yen.page.wait_for_selector(item, timeout=10_000)
    assert await hung_yen.page.evaluate("() => window.__sameDocument === true")
    news = await hung_yen.page.text_content("#dl-live-news")
    assert news == (
        "Đoàn mới: 14 người từ Ban Tiếp công dân tỉnh Hưng Yên, tiếp nhận tại "
        "Trụ sở Tiếp công dân Trung ương (Hà Nội)"
    ), news
    assert await hung_yen.page.get_attribute(item, "data-skipped-level") == "true"
    # Bắc Giang was not told: nothing of Hưng Yên's reaches its page.
    await bac_giang.page.wait_for_timeout(1_000)
    assert await bac_giang.page.query_selector(item) is None
    assert await bac_giang.page.is_hidden("#dl-live-news")

    # The central leader opens the joint hearing from the delegation's page and joins it.
    leader = await open_site("leader")
    await leader.page.goto(f"/staff/delegations/{delegation_id}")
    await leader.page.click("#dl-open-hearing")
    await leader.page.wait_for_url(re.compile(r"/hearings/\d+/join$"), timeout=10_000)
    hearing_id = int(leader.page.url.split("/hearings/")[1].split("/")[0])
    await leader.page.wait_for_function(
        "() => ['joined', 'failed'].includes(document.getElementById('hearing').dataset.state)",
        timeout=15_000,
    )
    assert await leader.page.get_attribute("#hearing", "data-state") == "joined"

    # Hưng Yên's kiosk finds the live hearing by itself and waits; the leader lets it in.
    kiosk = await open_site("staff.hungyen")
    await kiosk.page.goto("/site")
    waiting = f'.tile--remote[data-office-id="{hy}"][data-state="waiting"]'
    await leader.page.click(f"{waiting} .tile__admit", timeout=25_000)
    tile = await leader.office_tile(hy, "connected", timeout_ms=20_000)
    assert tile["office_name"] == "Ban Tiếp công dân tỉnh Hưng Yên"
    # The kiosk is in the hearing (not its waiting room) and shows the centre's picture.
    await kiosk.page.wait_for_selector(
        f'#kiosk[data-phase="in-hearing"][data-hearing-id="{hearing_id}"]', timeout=20_000
    )
    await kiosk.page.wait_for_function(
        """(office) => {
          const tile = document.querySelector(`#kiosk-tiles .tile[data-office-id="${office}"]`);
          return tile !== null && tile.querySelector('video').videoWidth > 0;
        }""",
        arg=tw,
        timeout=45_000,
    )
    # Hưng Yên's start page now links the delegation to its hearing (pushed again).
    await hung_yen.page.wait_for_selector(
        f'{item}[data-status="handling"] a[href="/staff/hearings/{hearing_id}"]', timeout=10_000
    )
    assert await hung_yen.page.evaluate("() => window.__sameDocument === true")

    # Linked both ways, on the pages...
    page = central.page
    await page.goto(f"/staff/delegations/{delegation_id}")
    assert await page.get_attribute("#dl-status", "data-status") == "handling"
    assert await page.is_visible(f'#dl-hearings li[data-hearing-id="{hearing_id}"]')
    for pid in petition_ids:
        assert await page.is_visible(f'#dl-petitions li[data-petition-id="{pid}"]')
    await page.goto(f"/staff/hearings/{hearing_id}")
    assert (
        await page.get_attribute("#hd-delegation", "href") == f"/staff/delegations/{delegation_id}"
    )
    for pid in petition_ids:
        assert await page.is_visible(f'#hd-petitions tr[data-petition-id="{pid}"]')
    for pid in petition_ids:
        await page.goto(f"/staff/petitions/{pid}")
        assert await page.is_visible(f'#pd-delegations li[data-delegation-id="{delegation_id}"]')
        assert await page.is_visible(f'#pd-hearings tr[data-hearing-id="{hearing_id}"]')
    # ... Hưng Yên's own view of the delegation and of the hearing ...
    await hung_yen.page.goto(f"/staff/delegations/{delegation_id}")
    assert await hung_yen.page.is_visible(f'#dl-hearings li[data-hearing-id="{hearing_id}"]')
    await hung_yen.page.goto(f"/staff/hearings/{hearing_id}")
    assert await hung_yen.page.is_visible("#hd-delegation")
    # ... and in the API.
    delegation = await api.get(f"/api/v1/delegations/{delegation_id}")
    assert delegation["hearing_id"] == hearing_id
    assert [p["petition_id"] for p in delegation["petitions"]] == petition_ids
    hearing = await api.get(f"/api/v1/hearings/{hearing_id}")
    assert hearing["delegation_id"] == delegation_id
    assert hearing["host_office_id"] == tw and hearing["site_office_ids"] == [hy]
    assert sorted(p["petition_id"] for p in hearing["petitions"]) == petition_ids
    for pid in petition_ids:
        petition = await api.get(f"/api/v1/petitions/{pid}")
        assert [d["delegation_id"] for d in petition["delegations"]] == [delegation_id]
        assert [h["hearing_id"] for h in petition["hearings"]] == [hearing_id]
    # Bắc Giang reads none of it.
    for path in (f"/staff/delegations/{delegation_id}", f"/staff/hearings/{hearing_id}"):
        response = await bac_giang.page.goto(path)
        assert response is not None and response.status == 404, path

    errors = [
        *hung_yen.console_errors,
        *bac_giang.console_errors,
        *central.console_errors,
        *leader.console_errors,
        *kiosk.console_errors,
    ]
    # A 404 page is what Bắc Giang was meant to get; nothing else may have failed.
    assert not [e for e in errors if "404" not in e], errors
