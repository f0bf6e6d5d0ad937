"""The minutes page in Chromium: staff open the draft of an ended hearing, edit and save it; a
second editor's stale copy is refused with the reason; a leader signs off and the form becomes
read-only; the downloads answer; an office outside the host side gets the 404 page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.async_api import Dialog, expect

from tests.ui.browser import ConsoleWatch, HubApi, OpenContext, open_page, vn_now

pytestmark = pytest.mark.browser


async def _ended_hearing(staff_api: HubApi) -> tuple[int, str]:
    offices = await staff_api.office_ids()
    start = vn_now().replace(second=0, microsecond=0) - timedelta(hours=1)
    hearing = await staff_api.call(
        "POST",
        "/api/v1/hearings",
        {
            "title": "Phiên tiếp công dân trực tuyến kiểm thử biên bản",
            "kind": "adhoc",
            "host_office_id": offices["TW"],
            "site_office_ids": [offices["HY"]],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
        },
    )
    petition = await staff_api.call(
        "POST",
        "/api/v1/petitions",
        {
            "type": "recommendation",
            "office_id": offices["TW"],
            "petitioner_name": "Lê Thị Hằng",
            "content": "Kiến nghị giải quyết dứt điểm việc cấp giấy chứng nhận quyền sử dụng đất.",
            "source": "in_person",
            "received_on": (vn_now().date() - timedelta(days=2)).isoformat(),
        },
    )
    hid = hearing["id"]
    link = f"/api/v1/hearings/{hid}/petitions/{petition['id']}"
    await staff_api.call("POST", link, {"heard_from": (start + timedelta(minutes=5)).isoformat()})
    await staff_api.call("POST", link, {"heard_to": (start + timedelta(minutes=25)).isoformat()})
    await staff_api.call("POST", f"/api/v1/hearings/{hid}/start")
    await staff_api.call("POST", f"/api/v1/hearings/{hid}/end")
    return hid, petition["case_code"]


async def test_staff_edit_and_a_leader_signs_off_the_minutes(
    open_context: OpenContext, staff_api: HubApi
) -> None:
    hid, case_code = await _ended_hearing(staff_api)
    path = f"/staff/hearings/{hid}/minutes"
    watch = ConsoleWatch()
    staff = await open_context("staff")
    page = watch.watch(await staff.new_page())
    other = watch.watch(await staff.new_page())
    await open_page(page, f"/staff/hearings/{hid}")
    await page.get_by_role("link", name="Biên bản chính thức (sửa, ký duyệt, DOCX, PDF)").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Biên bản phiên tiếp công dân")
    await open_page(other, path)

    await expect(page.locator("#minutes-status")).to_have_text("Dự thảo")
    await expect(page.locator("#minutes-version")).to_have_text("Dự thảo từ nhật ký, chưa lưu")
    item = page.locator(f'#mn-petitions li[data-case-code="{case_code}"]')
    await expect(item.get_by_label("Người đứng đơn")).to_have_value("Lê Thị Hằng")
    await expect(item.get_by_label("Hướng xử lý")).to_have_value(
        "Tiếp nhận đơn, phân loại và xử lý theo quy định"
    )
    await expect(page.get_by_label("Số, ký hiệu")).to_have_value(".../BB-TW")
    await expect(page.get_by_label("Địa danh")).to_have_value("Hà Nội")
    await item.get_by_label("Ý kiến tại phiên tiếp").fill("Công dân đồng ý với hướng xử lý.")
    await page.get_by_label("Kết luận").fill("Giao bộ phận chuyên môn trả lời công dân.")
    await page.get_by_role("button", name="Lưu biên bản").click()
    await expect(page.locator("#minutes-version")).to_have_text("Phiên bản 1")
    await expect(page.locator("#mn-save-status")).to_contain_text("Đã lưu lúc")

    # The other tab still holds version 0: its save is refused, with who saved and why.
    await other.get_by_label("Kết luận").fill("Một kết luận khác.")
    await other.get_by_role("button", name="Lưu biên bản").click()
    await expect(other.locator("#mn-error")).to_contain_text("since you opened them")
    await expect(other.locator("#mn-error")).to_contain_text("Cán bộ tiếp công dân Trung ương")

    # Staff have no sign-off button; the central leader signs the saved version off.
    await expect(page.get_by_role("button", name="Ký duyệt biên bản")).to_have_count(0)
    leader = await open_context("leader")
    lpage = watch.watch(await leader.new_page())

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    lpage.on("dialog", accept)
    await open_page(lpage, path)
    await expect(lpage.get_by_label("Kết luận")).to_have_value(
        "Giao bộ phận chuyên môn trả lời công dân."
    )
    await expect(lpage.get_by_label("Kết luận")).to_be_disabled()
    await lpage.get_by_role("button", name="Ký duyệt biên bản").click()
    await expect(lpage.locator("#minutes-signed")).to_contain_text(
        "Đã ký duyệt bởi Lãnh đạo Ban Tiếp công dân Trung ương"
    )
    await expect(lpage.locator("#minutes-status")).to_have_text("Đã ký duyệt")
    await expect(lpage.get_by_label("Số, ký hiệu")).to_have_value(re.compile(r"^\d+/BB-TW$"))

    # Read-only for staff now: no save, fields disabled; the downloads answer.
    await open_page(page, path)
    await expect(page.get_by_role("button", name="Lưu biên bản")).to_have_count(0)
    await expect(page.get_by_label("Kết luận")).to_be_disabled()
    for link, media_type in (
        ("#minutes-pdf", "application/pdf"),
        ("#minutes-docx", "wordprocessingml"),
    ):
        href = await page.locator(link).get_attribute("href")
        assert href
        response = await staff.request.get(href)
        assert response.ok and media_type in response.headers["content-type"], href
    # The browser reports the refused stale save itself; nothing else went wrong.
    errors = watch.take()
    assert len(errors) == 1 and "409 (Conflict)" in errors[0], errors


async def test_an_office_off_the_host_side_gets_the_404_page(
    open_context: OpenContext, staff_api: HubApi
) -> None:
    hid, _ = await _ended_hearing(staff_api)
    for username in ("staff.bacgiang", "staff.hungyen"):  # out of scope; a site's office
        context = await open_context(username)
        page = await context.new_page()
        response = await page.goto(f"/staff/hearings/{hid}/minutes")
        assert response is not None and response.status == 404, username
        await expect(page.get_by_role("heading", level=1)).to_have_text("Không tìm thấy trang")
