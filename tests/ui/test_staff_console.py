"""The staff console in Chromium: sign in, register a crowd petition and move it along, schedule a
periodic hearing with three sites and that petition, find it on the calendar and the petition's
page; then the hearing page's own controls (publish, minutes, notes, cancel)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.async_api import Page, expect

from tests.ui.browser import ConsoleWatch, HubApi, OpenContext, open_page, ready, vn_now

pytestmark = pytest.mark.browser


def _fifteenth_of_next_month(today: date) -> date:
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, 15)


async def _sign_in_with_form(page: Page, path: str, username: str) -> None:
    await page.goto(path)
    await expect(page).to_have_url(re.compile(r"/login\?next="))
    await page.get_by_label("Tên đăng nhập").fill(username)
    await page.get_by_label("Mật khẩu").fill("demo")
    await page.get_by_role("button", name="Đăng nhập").click()
    # Anchored at the origin: "/login?next=<path>" also ends in <path>.
    await expect(page).to_have_url(re.compile(r"^http://[^/?]+" + re.escape(path) + "$"))
    await ready(page)


async def test_staff_schedules_a_periodic_hearing_with_a_crowd_petition(
    open_context: OpenContext,
) -> None:
    watch = ConsoleWatch()
    context = await open_context()
    page = watch.watch(await context.new_page())

    await _sign_in_with_form(page, "/staff/calendar", "staff")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Lịch phiên tiếp công dân")

    # A crowd petition: 12 people, three representatives.
    await page.get_by_role("link", name="Sổ đơn thư").click()
    await ready(page)
    await page.get_by_role("link", name="Đăng ký đơn mới").click()
    await ready(page)
    await page.get_by_label("Loại đơn").select_option("complaint")
    await page.get_by_label("Họ và tên").fill("Đỗ Thị Mai")
    await page.get_by_label("Địa chỉ").fill("Xã Tân Lập, huyện Tân Biên, tỉnh Tây Ninh")
    await page.get_by_label("Vụ việc đông người").check()
    await page.get_by_label("Số người").fill("12")
    await page.get_by_label("Người đại diện").fill("Đỗ Thị Mai\nNguyễn Văn Hải\nTrần Thị Lan")
    await page.get_by_label("Lĩnh vực").fill("Đất đai")
    await page.get_by_label("Nội dung đơn").fill("Khiếu nại về giá bồi thường khi thu hồi đất.")
    await page.get_by_role("button", name="Đăng ký đơn").click()
    await expect(page).to_have_url(re.compile(r"/staff/petitions/\d+$"))
    await ready(page)
    petition_id = int(page.url.rsplit("/", 1)[1])
    case_code = (await page.locator("#petition-title").text_content() or "").split()[-1]
    await expect(page.locator(".page-header__meta")).to_contain_text("Đông người (12 người)")
    await expect(page.locator("#pd-representatives li")).to_have_count(3)
    await expect(page.locator("#petition-status")).to_have_text("Đã tiếp nhận")

    # Accept it (thụ lý) with a note; the history records the move.
    await page.get_by_label("Ghi chú xử lý").fill("Thụ lý giải quyết theo thẩm quyền")
    await page.get_by_role("button", name="Thụ lý").click()
    await expect(page.locator("#petition-status")).to_have_text("Đã thụ lý")
    accepted = page.locator('#pd-history tr[data-to-status="accepted"]')
    await expect(accepted).to_contain_text("Thụ lý giải quyết theo thẩm quyền")
    await expect(accepted).to_contain_text("Cán bộ tiếp công dân Trung ương")

    # A periodic hearing on the 15th of every month, three times, with three sites.
    first = _fifteenth_of_next_month(vn_now().date())
    await page.goto("/staff/calendar")
    await ready(page)
    await page.get_by_role("link", name="Tạo phiên mới").click()
    await ready(page)
    await page.get_by_label("Tên phiên").fill("Tiếp công dân định kỳ ngày 15 (kiểm thử)")
    await page.get_by_label("Định kỳ").check()
    await page.get_by_label("Ngày", exact=True).fill(first.strftime("%d/%m/%Y"))
    await page.get_by_label("Giờ bắt đầu").fill("08:00")
    await page.get_by_label("Giờ kết thúc").fill("11:30")
    await page.get_by_label("Hằng tháng, vào ngày").check()
    await page.locator("#hf-monthday").fill("15")
    await page.get_by_label("Số phiên").fill("3")
    await expect(page.locator("#hf-repeat-summary")).to_have_text(
        f"Ngày 15 hằng tháng, 3 phiên; phiên đầu tiên ngày {first.strftime('%d/%m/%Y')}."
    )
    for site in (
        "Ban Tiếp công dân tỉnh Hưng Yên",
        "Ban Tiếp công dân tỉnh Bắc Giang",
        "Ban Tiếp công dân thành phố Hải Phòng",
    ):
        await page.get_by_role("checkbox", name=site, exact=True).check()
    await expect(page.locator("#hf-sites-count")).to_have_text("Đã chọn 3 điểm cầu")
    await page.get_by_label("Lãnh đạo chủ trì").select_option(
        label="Lãnh đạo Ban Tiếp công dân Trung ương — Trụ sở Tiếp công dân Trung ương (Hà Nội)"
    )
    await page.get_by_label("Tìm đơn").fill("do thi mai")
    await page.get_by_role("button", name="Tìm", exact=True).click()
    await page.get_by_role("button", name=f"Thêm {case_code}").click()
    await expect(page.locator("#hf-petition-chosen li")).to_have_count(1)
    await page.get_by_role("button", name="Lên lịch").click()

    await expect(page).to_have_url(re.compile(r"/staff/hearings/\d+\?created=3$"))
    await ready(page)
    hearing_id = int(page.url.split("?")[0].rsplit("/", 1)[1])
    await expect(page.locator("#hearing-created")).to_have_text("Đã tạo 3 phiên.")
    await expect(page.locator("#hd-sites li")).to_have_count(4)
    await expect(
        page.locator(f'#hd-petitions tr[data-petition-id="{petition_id}"]')
    ).to_contain_text(case_code)
    await expect(page.locator('#hd-log tr[data-kind="petition_linked"]')).to_contain_text(case_code)
    await expect(page.locator(".details")).to_contain_text("FREQ=MONTHLY;BYMONTHDAY=15;COUNT=3")

    # The calendar shows it on the 15th, in the month and in the week view.
    for view in ("week", "month"):
        await open_page(page, f"/staff/calendar?view={view}&date={first.isoformat()}")
        cell = page.locator(f'[data-date="{first.isoformat()}"]')
        await expect(cell.locator(f'a[data-hearing-id="{hearing_id}"]')).to_contain_text(
            "Tiếp công dân định kỳ ngày 15 (kiểm thử)"
        )
    await page.get_by_role("link", name=re.compile("Tháng sau")).click()
    await ready(page)
    await expect(page.locator("#cal-label")).to_contain_text(
        f"Tháng {(first + timedelta(days=31)).month}/"
    )

    # The petition's page lists the hearing that takes it up.
    await open_page(page, f"/staff/petitions/{petition_id}")
    await expect(page.locator(f'#pd-hearings tr[data-hearing-id="{hearing_id}"]')).to_contain_text(
        "Tiếp công dân định kỳ ngày 15 (kiểm thử)"
    )

    # The register finds it by name without diacritics, among crowd cases only, once asked to
    # search personal data (which it does not count).
    await open_page(page, "/staff/petitions")
    await page.get_by_label("Từ khóa").fill("do thi mai")
    await page.get_by_label("Đông người").select_option("true")
    await page.get_by_role("button", name="Tìm kiếm").click()
    await ready(page)
    await expect(page.locator("#pl-table .empty")).to_be_visible()
    await page.get_by_label("Tìm cả họ tên").check()
    await page.get_by_role("button", name="Tìm kiếm").click()
    await ready(page)
    rows = page.locator("#pl-table-results tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(case_code)
    await expect(rows.first).to_contain_text("Đã thụ lý")
    await expect(page.locator("#pl-total")).to_have_text(
        "(tìm theo thông tin cá nhân: không đếm tổng số)"
    )
    assert watch.take() == []


async def test_hearing_page_controls(open_context: OpenContext, staff_api: HubApi) -> None:
    offices = await staff_api.office_ids()
    start = (vn_now() + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    hearing = await staff_api.call(
        "POST",
        "/api/v1/hearings",
        {
            "title": "Phiên đột xuất để kiểm thử điều khiển",
            "kind": "adhoc",
            "host_office_id": offices["TW"],
            "site_office_ids": [offices["HY"]],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
        },
    )
    watch = ConsoleWatch()
    context = await open_context("staff")
    page = watch.watch(await context.new_page())
    await open_page(page, f"/staff/hearings/{hearing['id']}")

    # Off the public schedule and back on.
    await page.get_by_role("button", name="Gỡ khỏi lịch công khai").click()
    await expect(page.locator("#hearing-published")).to_have_text("Chưa công bố")
    public = await context.request.get("/schedule")
    assert "Phiên đột xuất để kiểm thử điều khiển" not in await public.text()
    await page.get_by_role("button", name="Công bố lên lịch công khai").click()
    await expect(page.locator("#hearing-published")).to_have_text("Đã công bố")
    public = await context.request.get("/schedule")
    assert "Phiên đột xuất để kiểm thử điều khiển" in await public.text()

    # The minutes (biên bản) are saved and kept.
    await page.get_by_role("textbox", name="Biên bản phiên").fill(
        "Thành phần tham dự: đại diện Ban Tiếp công dân."
    )
    await page.get_by_role("button", name="Lưu biên bản").click()
    await expect(page.locator("#hd-minutes-status")).to_contain_text("Đã lưu lúc")
    await page.reload()
    await ready(page)
    await expect(page.locator("#hd-minutes")).to_have_value(
        "Thành phần tham dự: đại diện Ban Tiếp công dân."
    )
    await expect(page.locator('#hd-log tr[data-kind="minutes"]')).to_have_count(1)

    # A note in the session log.
    await page.get_by_label("Ghi chú vào nhật ký").fill("Đã gửi giấy mời các điểm cầu.")
    await page.get_by_role("button", name="Ghi vào nhật ký").click()
    await expect(page.locator('#hd-log tr[data-kind="note"]')).to_contain_text(
        "Đã gửi giấy mời các điểm cầu."
    )

    # Cancel, with a reason, after a second thought.
    await page.get_by_role("button", name="Hủy phiên", exact=True).click()
    await page.get_by_label("Lý do hủy").fill("Lãnh đạo bận họp đột xuất")
    await page.get_by_role("button", name="Xác nhận hủy phiên").click()
    await expect(page.locator("#hearing-status")).to_have_text("Đã hủy")
    await expect(page.locator('#hd-log tr[data-kind="cancelled"]')).to_contain_text(
        "Lãnh đạo bận họp đột xuất"
    )
    await expect(page.get_by_role("button", name="Bắt đầu phiên")).to_have_count(0)
    assert watch.take() == []


async def test_register_pages_through_results(open_context: OpenContext, staff_api: HubApi) -> None:
    offices = await staff_api.office_ids()
    for n in range(22):
        await staff_api.call(
            "POST",
            "/api/v1/petitions",
            {
                "type": "feedback",
                "office_id": offices["HP"],
                "petitioner_name": f"Người phản ánh số {n + 1}",
                "content": "Phản ánh về trật tự xây dựng trên địa bàn phường.",
                "subject_field": "Xây dựng",
                "received_on": (vn_now().date() - timedelta(days=n)).isoformat(),
            },
        )
    watch = ConsoleWatch()
    context = await open_context("staff")
    page = watch.watch(await context.new_page())
    await open_page(page, "/staff/petitions?type=feedback")
    await expect(page.get_by_label("Loại đơn")).to_have_value("feedback")
    rows = page.locator("#pl-table-results tbody tr")
    await expect(rows).to_have_count(20)
    await expect(page.locator("#pl-total")).to_have_text("(22 kết quả)")
    await expect(page.locator(".pager__info")).to_have_text("Trang 1/2")
    await page.get_by_role("link", name=re.compile("Trang sau")).click()
    await ready(page)
    await expect(rows).to_have_count(2)
    await expect(page.locator(".pager__info")).to_have_text("Trang 2/2")
    # The office filter covers the office's subtree; a date range narrows it down.
    await page.get_by_label("Đơn vị").select_option(label="— Ban Tiếp công dân thành phố Hải Phòng")
    today = vn_now().date()
    await page.get_by_label("Nhận từ ngày").fill((today - timedelta(days=4)).strftime("%d/%m/%Y"))
    await page.get_by_label("Đến ngày").fill(today.strftime("%d/%m/%Y"))
    await page.get_by_role("button", name="Tìm kiếm").click()
    await ready(page)
    await expect(rows).to_have_count(5)
    await expect(rows.first).to_contain_text("Ban Tiếp công dân thành phố Hải Phòng")
    assert watch.take() == []
