"""The pages' message catalogue: Vietnamese first, English on a switch (the `lang` cookie).

Pure data and lookups, no web framework: pages.py picks the language per request, templates call
`t(key, **params)`, and the same catalogue is handed to the page scripts as JSON.
"""

from __future__ import annotations

LANG_COOKIE = "lang"
DEFAULT_LANGUAGE = "vi"
LANGUAGES = ("vi", "en")

# key -> (Vietnamese, English). Parameters are written {name}.
MESSAGES: dict[str, tuple[str, str]] = {
    # --- frame and navigation ---
    "app.name": ("Tiếp công dân trực tuyến", "Online citizen reception"),
    "app.skip": ("Bỏ qua, đến nội dung chính", "Skip to main content"),
    "nav.label": ("Điều hướng chính", "Main navigation"),
    "nav.today": ("Phiên hôm nay", "Today's hearings"),
    "nav.calendar": ("Lịch phiên", "Calendar"),
    "nav.petitions": ("Sổ đơn thư", "Petition register"),
    "nav.operator": ("Giám sát điểm cầu", "Bridge points"),
    "nav.schedule": ("Lịch công khai", "Public schedule"),
    "nav.signin": ("Đăng nhập", "Sign in"),
    "nav.signout": ("Đăng xuất", "Sign out"),
    "nav.user": ("Người dùng đang đăng nhập", "Signed-in user"),
    "lang.label": ("Ngôn ngữ", "Language"),
    "lang.vi": ("Tiếng Việt", "Tiếng Việt"),
    "lang.en": ("English", "English"),
    "role.leader": ("Lãnh đạo", "Leader"),
    "role.staff": ("Cán bộ tiếp công dân", "Reception staff"),
    "role.operator": ("Kỹ thuật viên", "Operator"),
    "role.admin": ("Quản trị hệ thống", "Administrator"),
    # --- error pages ---
    "error.404.title": ("Không tìm thấy trang", "Page not found"),
    "error.404.text": (
        "Trang hoặc hồ sơ bạn tìm không tồn tại, hoặc nằm ngoài phạm vi của đơn vị bạn.",
        "The page or record does not exist, or lies outside your office's scope.",
    ),
    "error.403.title": ("Không có quyền truy cập", "Access denied"),
    "error.403.text": (
        "Vai trò của bạn không được phép mở trang này.",
        "Your role may not open this page.",
    ),
    "error.405.title": ("Yêu cầu không hợp lệ", "Request not allowed"),
    "error.405.text": (
        "Trang này không nhận loại yêu cầu đó.",
        "This page does not accept that kind of request.",
    ),
    "error.back": ("Về trang chính", "Back to the start page"),
    # --- shared words ---
    "common.loading": ("Đang tải…", "Loading…"),
    "common.none": ("—", "—"),
    "common.yes": ("Có", "Yes"),
    "common.no": ("Không", "No"),
    "common.all": ("Tất cả", "All"),
    "common.search": ("Tìm", "Search"),
    "common.details": ("Chi tiết", "Details"),
    "common.close": ("Đóng", "Close"),
    "common.back": ("Quay lại", "Back"),
    "common.required": ("bắt buộc", "required"),
    "common.optional": ("không bắt buộc", "optional"),
    "common.network_error": (
        "Không kết nối được máy chủ. Vui lòng thử lại.",
        "Could not reach the server. Please try again.",
    ),
    "common.invalid": ("Dữ liệu chưa hợp lệ:", "Please correct the following:"),
    "common.saved_at": ("Đã lưu lúc {time}", "Saved at {time}"),
    "common.saving": ("Đang lưu…", "Saving…"),
    "common.prev": ("Trang trước", "Previous page"),
    "common.next": ("Trang sau", "Next page"),
    "common.page_of": ("Trang {page}/{pages}", "Page {page} of {pages}"),
    "common.total": ("{total} kết quả", "{total} results"),
    "common.date_hint": ("dd/mm/yyyy", "dd/mm/yyyy"),
    "common.time_hint": ("hh:mm (24 giờ)", "hh:mm (24-hour)"),
    "common.bad_date": (
        "Ngày phải theo dạng dd/mm/yyyy, ví dụ 15/12/2026.",
        "Dates are dd/mm/yyyy, e.g. 15/12/2026.",
    ),
    "common.bad_time": (
        "Giờ phải theo dạng hh:mm, ví dụ 08:00.",
        "Times are hh:mm, e.g. 08:00.",
    ),
    "common.people": ("{n} người", "{n} people"),
    # --- columns ---
    "col.date": ("Ngày", "Date"),
    "col.time": ("Thời gian", "Time"),
    "col.content": ("Nội dung", "Subject"),
    "col.kind": ("Hình thức", "Kind"),
    "col.host": ("Chủ trì", "Host"),
    "col.sites": ("Các điểm cầu", "Sites"),
    "col.location": ("Địa điểm", "Location"),
    "col.status": ("Trạng thái", "Status"),
    "col.actions": ("Thao tác", "Actions"),
    "col.at": ("Thời điểm", "Time"),
    "col.event": ("Sự kiện", "Event"),
    "col.by": ("Người thực hiện", "By"),
    "col.detail": ("Chi tiết", "Detail"),
    "col.case_code": ("Mã đơn", "Case code"),
    "col.received": ("Ngày nhận", "Received"),
    "col.petitioner": ("Người gửi đơn", "Petitioner"),
    "col.type": ("Loại đơn", "Type"),
    "col.subject": ("Lĩnh vực", "Subject field"),
    "col.office": ("Đơn vị", "Office"),
    "col.people": ("Số người", "People"),
    "col.deadline": ("Hạn xử lý", "Deadline"),
    "col.from_status": ("Từ trạng thái", "From"),
    "col.to_status": ("Sang trạng thái", "To"),
    "col.note": ("Ghi chú", "Note"),
    "col.hearing": ("Phiên", "Hearing"),
    "col.heard_from": ("Bắt đầu xem xét", "Heard from"),
    "col.heard_to": ("Kết thúc xem xét", "Heard to"),
    "col.heard": ("Thời gian xem xét", "Heard"),
    "col.site": ("Điểm cầu", "Site"),
    "col.level": ("Cấp", "Level"),
    "col.connection": ("Kết nối", "Connection"),
    "col.updated": ("Cập nhật", "Updated"),
    # --- hearings: kinds, statuses ---
    "hkind.periodic": ("Định kỳ", "Periodic"),
    "hkind.adhoc": ("Đột xuất", "Ad hoc"),
    "hkind.regular": ("Thường xuyên", "Regular"),
    "hstatus.scheduled": ("Đã lên lịch", "Scheduled"),
    "hstatus.live": ("Đang diễn ra", "Live"),
    "hstatus.ended": ("Đã kết thúc", "Ended"),
    "hstatus.cancelled": ("Đã hủy", "Cancelled"),
    # --- petitions: types, statuses, sources, actions ---
    "ptype.complaint": ("Khiếu nại", "Complaint"),
    "ptype.denunciation": ("Tố cáo", "Denunciation"),
    "ptype.recommendation": ("Kiến nghị", "Recommendation"),
    "ptype.feedback": ("Phản ánh", "Feedback"),
    "ptype.mixed": ("Nhiều nội dung", "Mixed"),
    "pstatus.received": ("Đã tiếp nhận", "Received"),
    "pstatus.accepted": ("Đã thụ lý", "Accepted"),
    "pstatus.transferred": ("Đã chuyển đơn", "Transferred"),
    "pstatus.returned": ("Đã trả lại và hướng dẫn", "Returned with guidance"),
    "pstatus.filed": ("Lưu đơn", "Filed"),
    "pstatus.suspended": ("Tạm đình chỉ", "Suspended"),
    "pstatus.resolved": ("Đã giải quyết", "Resolved"),
    "paction.accepted": ("Thụ lý", "Accept"),
    "paction.transferred": ("Chuyển đơn", "Transfer"),
    "paction.returned": ("Trả lại và hướng dẫn", "Return with guidance"),
    "paction.filed": ("Lưu đơn", "File"),
    "paction.suspended": ("Tạm đình chỉ", "Suspend"),
    "paction.resolved": ("Đã giải quyết xong", "Mark resolved"),
    "source.in_person": ("Trực tiếp", "In person"),
    "source.post": ("Qua bưu chính", "By post"),
    "source.transferred": ("Cơ quan khác chuyển đến", "Transferred by another body"),
    "source.national_assembly": ("Đại biểu Quốc hội chuyển", "From a National Assembly deputy"),
    "source.fatherland_front": ("Mặt trận Tổ quốc chuyển", "From the Fatherland Front"),
    "source.online": ("Trực tuyến", "Online"),
    "source.other": ("Khác", "Other"),
    # --- session log events ---
    "log.scheduled": ("Lên lịch", "Scheduled"),
    "log.updated": ("Cập nhật thông tin phiên", "Hearing updated"),
    "log.cancelled": ("Hủy phiên", "Cancelled"),
    "log.started": ("Bắt đầu phiên", "Started"),
    "log.ended": ("Kết thúc phiên", "Ended"),
    "log.participant_joined": ("Điểm cầu tham gia", "Site joined"),
    "log.participant_left": ("Điểm cầu rời phiên", "Site left"),
    "log.participant_dropped": ("Điểm cầu mất kết nối", "Site dropped"),
    "log.participant_admitted": ("Cho điểm cầu vào phiên", "Site admitted"),
    "log.participant_muted": ("Tắt micrô điểm cầu", "Site muted"),
    "log.participant_removed": ("Mời điểm cầu ra khỏi phiên", "Site removed"),
    "log.participant_sent_to_waiting": (
        "Đưa điểm cầu về phòng chờ",
        "Site sent back to the waiting room",
    ),
    "log.media_started": ("Bắt đầu truyền hình ảnh, âm thanh", "Media started"),
    "log.connectivity": ("Sự cố kết nối", "Connectivity incident"),
    "log.petition_linked": ("Gắn đơn vào phiên", "Petition linked"),
    "log.petition_heard": ("Xem xét đơn", "Petition heard"),
    "log.petition_unlinked": ("Gỡ đơn khỏi phiên", "Petition unlinked"),
    "log.note": ("Ghi chú", "Note"),
    "log.minutes": ("Cập nhật biên bản", "Minutes updated"),
    "logd.fields": ("Thay đổi: {fields}", "Changed: {fields}"),
    "logd.reason": ("Lý do: {reason}", "Reason: {reason}"),
    "logd.starts": ("Phiên lúc {time}", "Hearing at {time}"),
    "logd.heard": ("Đơn {code}: từ {start} đến {end}", "Petition {code}: from {start} to {end}"),
    "logd.site": ("Điểm cầu: {site}", "Site: {site}"),
    "field.title": ("tên phiên", "title"),
    "field.starts_at": ("giờ bắt đầu", "start"),
    "field.ends_at": ("giờ kết thúc", "end"),
    "field.site_office_ids": ("điểm cầu", "sites"),
    "field.chair_user_id": ("lãnh đạo chủ trì", "chair"),
    "field.location": ("địa điểm", "location"),
    "field.description": ("ghi chú", "notes"),
    "field.published": ("lịch công khai", "public schedule"),
    "field.minutes": ("biên bản", "minutes"),
    # --- sign-in ---
    "login.title": ("Đăng nhập", "Sign in"),
    "login.username": ("Tên đăng nhập", "Username"),
    "login.password": ("Mật khẩu", "Password"),
    "login.submit": ("Đăng nhập", "Sign in"),
    "login.public": ("Xem lịch tiếp công dân công khai", "See the public reception schedule"),
    "login.bad": ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong username or password."),
    "login.limited": (
        "Đăng nhập sai quá nhiều lần, vui lòng thử lại sau một phút.",
        "Too many failed attempts; please try again in a minute.",
    ),
    # --- public schedule ---
    "sched.title": ("Lịch tiếp công dân", "Reception schedule"),
    "sched.nation": ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "SOCIALIST REPUBLIC OF VIET NAM"),
    "sched.motto": ("Độc lập - Tự do - Hạnh phúc", "Independence - Freedom - Happiness"),
    "sched.heading": ("LỊCH TIẾP CÔNG DÂN TRỰC TUYẾN", "ONLINE CITIZEN RECEPTION SCHEDULE"),
    "sched.updated": ("Cập nhật lúc {time} ngày {date}", "Updated at {time} on {date}"),
    "sched.ics": ("Tải lịch (iCalendar)", "Download (iCalendar)"),
    "sched.empty": (
        "Hiện chưa có lịch tiếp công dân trong 90 ngày tới.",
        "No reception is scheduled in the next 90 days.",
    ),
    # --- calendar ---
    "cal.title": ("Lịch phiên tiếp công dân", "Hearing calendar"),
    "cal.views": ("Chế độ xem", "View"),
    "cal.month": ("Tháng", "Month"),
    "cal.week": ("Tuần", "Week"),
    "cal.today": ("Hôm nay", "Today"),
    "cal.prev_month": ("Tháng trước", "Previous month"),
    "cal.next_month": ("Tháng sau", "Next month"),
    "cal.prev_week": ("Tuần trước", "Previous week"),
    "cal.next_week": ("Tuần sau", "Next week"),
    "cal.month_label": ("Tháng {m}/{y}", "{mname} {y}"),
    "cal.week_label": ("Tuần từ {start} đến {end}", "Week of {start} to {end}"),
    "cal.new": ("Tạo phiên mới", "New hearing"),
    "cal.empty": ("Không có phiên nào trong khoảng thời gian này.", "No hearings in this period."),
    "cal.count": ("{n} phiên", "{n} hearings"),
    "cal.no_day": ("Không có phiên", "No hearings"),
    "month.1": ("Tháng Một", "January"),
    "month.2": ("Tháng Hai", "February"),
    "month.3": ("Tháng Ba", "March"),
    "month.4": ("Tháng Tư", "April"),
    "month.5": ("Tháng Năm", "May"),
    "month.6": ("Tháng Sáu", "June"),
    "month.7": ("Tháng Bảy", "July"),
    "month.8": ("Tháng Tám", "August"),
    "month.9": ("Tháng Chín", "September"),
    "month.10": ("Tháng Mười", "October"),
    "month.11": ("Tháng Mười Một", "November"),
    "month.12": ("Tháng Mười Hai", "December"),
    "wd.0": ("T2", "Mon"),
    "wd.1": ("T3", "Tue"),
    "wd.2": ("T4", "Wed"),
    "wd.3": ("T5", "Thu"),
    "wd.4": ("T6", "Fri"),
    "wd.5": ("T7", "Sat"),
    "wd.6": ("CN", "Sun"),
    "wdlong.0": ("Thứ Hai", "Monday"),
    "wdlong.1": ("Thứ Ba", "Tuesday"),
    "wdlong.2": ("Thứ Tư", "Wednesday"),
    "wdlong.3": ("Thứ Năm", "Thursday"),
    "wdlong.4": ("Thứ Sáu", "Friday"),
    "wdlong.5": ("Thứ Bảy", "Saturday"),
    "wdlong.6": ("Chủ Nhật", "Sunday"),
    # --- new hearing form ---
    "hf.page": ("Tạo phiên tiếp công dân", "Schedule a hearing"),
    "hf.general": ("Thông tin phiên", "The hearing"),
    "hf.title": ("Tên phiên", "Title"),
    "hf.kind": ("Hình thức tiếp", "Kind of reception"),
    "hf.date": ("Ngày", "Date"),
    "hf.start": ("Giờ bắt đầu", "Starts at"),
    "hf.end": ("Giờ kết thúc", "Ends at"),
    "hf.repeat": ("Lặp lại (phiên định kỳ)", "Repeat (periodic hearings)"),
    "hf.repeat_none": ("Không lặp lại", "Does not repeat"),
    "hf.repeat_monthly": ("Hằng tháng, vào ngày", "Monthly, on day"),
    "hf.repeat_weekly": ("Hằng tuần, vào", "Weekly, on"),
    "hf.monthday": ("Ngày trong tháng", "Day of the month"),
    "hf.weekday": ("Thứ trong tuần", "Day of the week"),
    "hf.count": ("Số phiên", "Number of hearings"),
    "hf.repeat_monthly_summary": (
        "Ngày {day} hằng tháng, {count} phiên; phiên đầu tiên ngày {first}.",
        "Day {day} of every month, {count} hearings; the first on {first}.",
    ),
    "hf.repeat_weekly_summary": (
        "{weekday} hằng tuần, {count} phiên; phiên đầu tiên ngày {first}.",
        "Every {weekday}, {count} hearings; the first on {first}.",
    ),
    "hf.repeat_once": ("Một phiên duy nhất.", "A single hearing."),
    "hf.repeat_only_periodic": (
        "Chỉ phiên định kỳ mới lặp lại.",
        "Only periodic hearings repeat.",
    ),
    "hf.host": ("Đơn vị chủ trì", "Host office"),
    "hf.sites": ("Các điểm cầu tham gia", "Participating sites"),
    "hf.sites_hint": (
        "Chỉ liệt kê đơn vị có điểm cầu. Đơn vị chủ trì luôn tham gia.",
        "Only offices with a bridge point are listed. The host office always takes part.",
    ),
    "hf.sites_filter": ("Lọc điểm cầu theo tên", "Filter sites by name"),
    "hf.sites_count": ("Đã chọn {n} điểm cầu", "{n} sites selected"),
    "hf.host_mark": ("(chủ trì)", "(host)"),
    "hf.chair": ("Lãnh đạo chủ trì", "Chairing leader"),
    "hf.chair_none": ("Chưa chọn", "Not chosen yet"),
    "hf.location": ("Địa điểm", "Location"),
    "hf.description": ("Ghi chú", "Notes"),
    "hf.petitions": ("Đơn thư đưa ra xem xét", "Petitions to hear"),
    "hf.petition_search": (
        "Tìm đơn (mã đơn, họ tên, nội dung)",
        "Find a petition (code, name, content)",
    ),
    "hf.add": ("Thêm", "Add"),
    "hf.remove": ("Bỏ", "Remove"),
    "hf.chosen": ("Đơn đã chọn", "Chosen petitions"),
    "hf.no_petitions": ("Chưa chọn đơn nào.", "No petition chosen."),
    "hf.no_results": ("Không tìm thấy đơn phù hợp.", "No matching petition."),
    "hf.submit": ("Lên lịch", "Schedule"),
    "hf.created": ("Đã tạo {n} phiên.", "{n} hearings created."),
    # --- hearing page ---
    "hd.kind": ("Hình thức", "Kind"),
    "hd.status": ("Trạng thái", "Status"),
    "hd.time": ("Thời gian", "Time"),
    "hd.host": ("Đơn vị chủ trì", "Host office"),
    "hd.chair": ("Lãnh đạo chủ trì", "Chairing leader"),
    "hd.recurrence": ("Lặp lại", "Recurrence"),
    "hd.location": ("Địa điểm", "Location"),
    "hd.description": ("Ghi chú", "Notes"),
    "hd.public": ("Lịch công khai", "Public schedule"),
    "hd.published": ("Đã công bố", "Published"),
    "hd.unpublished": ("Chưa công bố", "Not published"),
    "hd.publish": ("Công bố lên lịch công khai", "Publish to the public schedule"),
    "hd.unpublish": ("Gỡ khỏi lịch công khai", "Remove from the public schedule"),
    "hd.start": ("Bắt đầu phiên", "Start hearing"),
    "hd.end": ("Kết thúc phiên", "End hearing"),
    "hd.cancel": ("Hủy phiên", "Cancel hearing"),
    "hd.cancel_reason": ("Lý do hủy", "Reason for cancelling"),
    "hd.cancel_confirm": ("Xác nhận hủy phiên", "Confirm cancellation"),
    "hd.cancel_keep": ("Không hủy", "Keep the hearing"),
    "hd.join": ("Tham gia", "Join"),
    "hd.actions": ("Điều hành phiên", "Run the hearing"),
    "hd.sites": ("Các điểm cầu", "Sites"),
    "hd.petitions": ("Đơn thư trong phiên", "Petitions in this hearing"),
    "hd.no_petitions": (
        "Chưa có đơn nào được gắn vào phiên.",
        "No petition is linked to this hearing.",
    ),
    "hd.unlink": ("Gỡ khỏi phiên", "Unlink"),
    "hd.unlink_short": ("Gỡ", "Unlink"),
    "hd.link": ("Gắn đơn vào phiên", "Link a petition"),
    "hd.log": ("Nhật ký phiên", "Session log"),
    "hd.log_empty": ("Nhật ký chưa có sự kiện nào.", "The log has no events yet."),
    "hd.note": ("Ghi chú vào nhật ký", "Note in the log"),
    "hd.note_add": ("Ghi vào nhật ký", "Add to the log"),
    "hd.minutes": ("Biên bản phiên", "Minutes"),
    "hd.minutes_hint": (
        "Biên bản được lưu cùng hồ sơ phiên; mỗi lần lưu được ghi vào nhật ký.",
        "The minutes are kept with the hearing; every save is noted in the log.",
    ),
    "hd.minutes_save": ("Lưu biên bản", "Save minutes"),
    "hd.minutes_empty": ("Chưa có biên bản.", "No minutes yet."),
    "hd.series": ("Thuộc chuỗi phiên định kỳ", "Part of a periodic series"),
    "hd.created": ("Đã tạo {n} phiên.", "{n} hearings created."),
    "hd.not_hosted": (
        "Phiên do đơn vị khác chủ trì: bạn chỉ xem được thông tin.",
        "Another office hosts this hearing: you can only view it.",
    ),
    # --- petition register ---
    "pl.title": ("Sổ đơn thư", "Petition register"),
    "pl.new": ("Đăng ký đơn mới", "Register a petition"),
    "pl.filters": ("Tìm kiếm và lọc", "Search and filters"),
    "pl.text": ("Từ khóa", "Keywords"),
    "pl.text_hint": (
        "Mã đơn, họ tên, địa chỉ, nội dung; gõ có dấu hoặc không dấu đều được.",
        "Case code, name, address, content; accents optional.",
    ),
    "pl.type": ("Loại đơn", "Type"),
    "pl.status": ("Trạng thái", "Status"),
    "pl.office": ("Đơn vị", "Office"),
    "pl.crowd": ("Đông người", "Crowd cases"),
    "pl.crowd_yes": ("Chỉ vụ việc đông người", "Crowd cases only"),
    "pl.crowd_no": ("Không đông người", "Not crowd cases"),
    "pl.from": ("Nhận từ ngày", "Received from"),
    "pl.to": ("Đến ngày", "Received until"),
    "pl.filter": ("Tìm kiếm", "Search"),
    "pl.reset": ("Xóa bộ lọc", "Clear filters"),
    "pl.empty": ("Không có đơn nào phù hợp.", "No petition matches."),
    "pl.results": ("Kết quả", "Results"),
    "pl.crowd_mark": ("Đông người", "Crowd"),
    "pl.pages": ("Phân trang", "Pages"),
    # --- new petition form ---
    "pf.page": ("Đăng ký đơn thư", "Register a petition"),
    "pf.received": ("Tiếp nhận", "Receipt"),
    "pf.type": ("Loại đơn", "Type"),
    "pf.office": ("Đơn vị tiếp nhận", "Receiving office"),
    "pf.received_on": ("Ngày nhận", "Received on"),
    "pf.source": ("Nguồn đơn", "Source"),
    "pf.petitioner": ("Người gửi đơn", "Petitioner"),
    "pf.name": ("Họ và tên", "Full name"),
    "pf.address": ("Địa chỉ", "Address"),
    "pf.id_number": ("Số CCCD/CMND", "ID number"),
    "pf.crowd": ("Vụ việc đông người", "Crowd case"),
    "pf.crowd_hint": (
        "Từ 5 người trở lên cùng một nội dung. 5–10 người cử tối đa 2 người đại diện; "
        "từ 11 người trở lên cử tối đa 5 người.",
        "5 or more people on one matter. 5–10 people choose at most 2 representatives; "
        "11 or more choose at most 5.",
    ),
    "pf.people_count": ("Số người", "Number of people"),
    "pf.representatives": ("Người đại diện (mỗi dòng một người)", "Representatives (one a line)"),
    "pf.reps_max": (
        "{people} người được cử tối đa {n} người đại diện.",
        "{people} people choose at most {n} representatives.",
    ),
    "pf.crowd_min": (
        "Vụ việc đông người có từ 5 người trở lên.",
        "A crowd case has at least 5 people.",
    ),
    "pf.case": ("Nội dung vụ việc", "The case"),
    "pf.subject": ("Lĩnh vực", "Subject field"),
    "pf.subject_hint": ("Ví dụ: Đất đai, Môi trường, Xây dựng", "E.g. land, environment, building"),
    "pf.respondent": ("Cơ quan, người bị khiếu nại, tố cáo", "Body or person complained about"),
    "pf.content": ("Nội dung đơn", "Content"),
    "pf.request": ("Yêu cầu của người gửi đơn", "What is asked"),
    "pf.handling": ("Xử lý", "Handling"),
    "pf.competent": ("Cơ quan có thẩm quyền giải quyết", "Competent body"),
    "pf.deadline": ("Hạn xử lý", "Handling deadline"),
    "pf.national_code": ("Mã trên Cơ sở dữ liệu quốc gia", "National database code"),
    "pf.submit": ("Đăng ký đơn", "Register"),
    # --- petition page ---
    "pd.title": ("Đơn {code}", "Petition {code}"),
    "pd.summary": ("Thông tin đơn", "The petition"),
    "pd.crowd_yes": ("Đông người ({n} người)", "Crowd case ({n} people)"),
    "pd.representatives": ("Người đại diện", "Representatives"),
    "pd.workflow": ("Xử lý đơn", "Handling"),
    "pd.next": ("Chuyển trạng thái", "Move to"),
    "pd.note": ("Ghi chú xử lý", "Handling note"),
    "pd.final": (
        "Đơn đã ở trạng thái cuối, không chuyển tiếp được nữa.",
        "The petition is in a final state.",
    ),
    "pd.history": ("Lịch sử xử lý", "History"),
    "pd.hearings": ("Các phiên đã xem xét đơn", "Hearings that heard this petition"),
    "pd.no_hearings": (
        "Đơn chưa được đưa ra phiên tiếp công dân nào.",
        "No hearing has taken up this petition yet.",
    ),
    "pd.audit": (
        "Mỗi lần xem thông tin cá nhân của người gửi đơn đều được ghi nhận.",
        "Every view of the petitioner's personal data is recorded.",
    ),
    "pd.created": ("Tạo lúc", "Created"),
    "pd.updated": ("Cập nhật lúc", "Updated"),
    "pd.readonly": (
        "Vai trò của bạn chỉ được xem đơn.",
        "Your role may only view petitions.",
    ),
    # --- leader start page ---
    "ld.title": ("Phiên tiếp công dân", "Reception hearings"),
    "ld.today": ("Hôm nay, {date}", "Today, {date}"),
    "ld.upcoming": ("7 ngày tới", "The next 7 days"),
    "ld.live": ("Đang diễn ra", "Live now"),
    "ld.none_today": ("Hôm nay không có phiên nào.", "No hearing today."),
    "ld.none_upcoming": ("Không có phiên nào trong 7 ngày tới.", "No hearing in the next 7 days."),
    "ld.sites": ("{n} điểm cầu", "{n} sites"),
    # --- operator board ---
    "op.title": ("Giám sát điểm cầu", "Bridge point board"),
    "op.lead": (
        "Trạng thái kết nối của từng điểm cầu, cập nhật trực tiếp.",
        "Each bridge point's connection, updated live.",
    ),
    "op.board": ("Trạng thái các điểm cầu", "Bridge point status"),
    "op.no_data": ("Chưa có dữ liệu", "No data yet"),
    "op.online": ("Trực tuyến", "Online"),
    "op.offline": ("Mất kết nối", "Offline"),
    "op.waiting": ("đang ở phòng chờ", "in the waiting room"),
    "op.expected": ("Dự kiến: {title}", "Expected in: {title}"),
    "op.summary": (
        "{online} trực tuyến, {offline} mất kết nối, {unknown} chưa có dữ liệu / {total} điểm cầu",
        "{online} online, {offline} offline, {unknown} no data / {total} bridge points",
    ),
    "op.live_connected": ("Đang nhận trạng thái trực tiếp.", "Receiving live status."),
    "op.live_connecting": ("Đang kết nối máy chủ giám sát…", "Connecting to the monitor…"),
    "op.live_lost": (
        "Mất kết nối với máy chủ giám sát; đang thử lại…",
        "Lost the monitor connection; retrying…",
    ),
    "op.live_off": (
        "Máy chủ giám sát chưa hoạt động: trạng thái sẽ hiện khi có dữ liệu.",
        "The monitor is not running: statuses appear once data arrives.",
    ),
    "op.hearing_id": ("Phiên số {id}", "Hearing {id}"),
    "op.live_hearings": ("Phiên đang diễn ra hôm nay", "Live hearings today"),
    "op.no_live": ("Hiện không có phiên nào đang diễn ra.", "No hearing is live now."),
    "level.central": ("Trung ương", "Central"),
    "level.province": ("Tỉnh, thành phố", "Province"),
    "level.district": ("Huyện", "District"),
    "level.commune": ("Xã, phường", "Commune"),
}


class _Keep(dict[str, object]):
    """format_map mapping that leaves unknown {names} in place instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def pick_language(value: str | None) -> str:
    """The language to use for a cookie value: a known code, else Vietnamese."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def translate(lang: str, key: str, **params: object) -> str:
    """The message `key` in `lang` with {params} filled in; the key itself when unknown."""
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    return text.format_map(_Keep(params)) if params else text


def catalogue(lang: str) -> dict[str, str]:
    """Every message in one language, for the page scripts."""
    index = 1 if lang == "en" else 0
    return {key: pair[index] for key, pair in MESSAGES.items()}


class Translator:
    """`t(key, **params)` bound to one language, as templates call it."""

    def __init__(self, lang: str) -> None:
        self.lang = pick_language(lang)

    def __call__(self, key: str, **params: object) -> str:
        return translate(self.lang, key, **params)

    def label(self, prefix: str, value: str | None) -> str:
        """An enum value's label, e.g. label('pstatus', 'accepted'); the value when unknown."""
        if value is None:
            return translate(self.lang, "common.none")
        key = f"{prefix}.{value}"
        return translate(self.lang, key) if key in MESSAGES else value
