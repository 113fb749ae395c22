"""What the web view says when a service refuses, in the reader's language.

Services refuse with a machine code of why (`reason`, with `params`): `workflow` and
`moderation` (WorkflowError), `administration` (Refused) and `overrides`
(OverrideRefused). Their `message` is English for API clients and logs; a page says the
Vietnamese below, or its English from messages_en.py. tests/web/test_i18n.py holds every
reason a service raises to having its text here.
"""
from datetime import date, datetime

import marshmallow as ma

from feedback.web.i18n import gettext as _, status_label

# Moves, as a sentence names them ("Không thể %(move)s ...").
MOVE_LABELS = {
    "approve": "tiếp nhận",
    "reject": "từ chối",
    "mark_duplicate": "gộp trùng",
    "route_manually": "chuyển đơn vị xử lý",
    "change_category": "đổi lĩnh vực",
    "acknowledge": "tiếp nhận xử lý",
    "request_info": "đề nghị công dân bổ sung",
    "provide_info": "bổ sung thông tin",
    "answer": "trả lời kết quả",
    "return": "trả lại",
    "request_extension": "xin gia hạn",
    "decide_extension": "quyết định gia hạn",
    "review_answer": "duyệt kết quả",
    "rate": "đánh giá",
    "reopen": "mở lại",
}

# Form fields, as a refusal names them.
FIELD_LABELS = {
    "code": "Mã",
    "name": "Tên",
    "kind": "Loại",
    "parent_id": "Đơn vị cấp trên",
    "area_code": "Địa bàn",
    "email": "Email",
    "phone": "Điện thoại",
    "address": "Địa chỉ",
    "name_vi": "Tên tiếng Việt",
    "name_en": "Tên tiếng Anh",
    "urgency": "Mức độ",
    "priority": "Độ ưu tiên",
    "moderate_limit": "Thời hạn kiểm duyệt",
    "acknowledge_limit": "Thời hạn tiếp nhận",
    "resolve_limit": "Thời hạn giải quyết",
    "extension_limit": "Gia hạn tối đa",
    "category_id": "Lĩnh vực",
    "category": "Lĩnh vực",
    "department_id": "Đơn vị",
    "department": "Đơn vị",
    "coordinators": "Đơn vị phối hợp",
    "note": "Ghi chú",
    "username": "Tên đăng nhập",
    "full_name": "Họ tên",
    "role": "Vai trò",
    "password": "Mật khẩu",
    "day": "Ngày",
    "reason_code": "Lý do",
    "reason": "Lý do",
    "question": "Câu hỏi",
    "text": "Nội dung trả lời",
    "title": "Tiêu đề",
    "description": "Nội dung",
    "outcome": "Kết quả",
    "approve": "Quyết định",
    "duplicate_of": "Phản ánh trùng",
    "new_due_date": "Hạn mới",
    "new_due_at": "Hạn mới",
    "photos": "Ảnh",
}

# workflow, moderation and the web view's own moves: WorkflowError.reason.
WORKFLOW_REASONS = {
    "role_not_allowed": "Vai trò của bạn không được %(move)s phản ánh.",
    "not_your_department": "Phản ánh này không thuộc đơn vị của bạn.",
    "not_your_report": "Đây không phải phản ánh của bạn.",
    "moderators_only": "Chỉ kiểm duyệt viên và quản trị viên được làm việc này.",
    "wrong_status": "Không thể %(move)s phản ánh đang ở trạng thái “%(status)s”.",
    "required": "Hãy nhập %(field)s.",
    "already_approved": "Phản ánh này đã được tiếp nhận.",
    "choose_reason": "Hãy chọn lý do trong danh sách.",
    "not_mergeable": "Không thể gộp vào %(code)s: hãy chọn một phản ánh đã được tiếp nhận và chưa bị gộp.",
    "department_inactive": "Đơn vị %(name)s đã ngừng hoạt động.",
    "category_unchanged": "Phản ánh đã thuộc lĩnh vực này.",
    "too_many_photos": "Tối đa %(maximum)s ảnh.",
    "photos_required": "Đã khắc phục thì cần kèm 1–5 ảnh kết quả.",
    "answer_awaits_review": "Đã có kết quả đang chờ lãnh đạo duyệt.",
    "no_answer_to_review": "Không có kết quả nào chờ duyệt.",
    "not_acknowledged": "Hãy tiếp nhận xử lý trước: phản ánh chưa có hạn giải quyết.",
    "deadline_passed": "Đã quá hạn: chỉ được xin gia hạn trước hạn.",
    "extension_asked": "Đơn vị chỉ được xin gia hạn một lần.",
    "no_extension": "Lĩnh vực này không cho phép gia hạn.",
    "extension_date": "Hạn mới phải sau %(earliest)s và không muộn hơn %(latest)s.",
    "extension_withdrawn": "Đề nghị gia hạn này không còn hiệu lực: đơn vị đề nghị không còn xử lý phản ánh.",
    "extension_decided": "Đề nghị gia hạn này đã được quyết định.",
    "extension_not_held": "Đơn vị đề nghị gia hạn không còn xử lý phản ánh này.",
    "rating_closed": "Đã hết thời hạn đánh giá.",
    "reopen_closed": "Đã hết thời hạn mở lại phản ánh.",
    "too_long": "%(field)s dài quá %(maximum)s ký tự.",
    "text_required": "Nội dung không được để trống.",
    "text_unchanged": "Nội dung không thay đổi.",
    "photo_hidden_already": "Ảnh này đã được ẩn.",
    "photo_not_hidden": "Ảnh này không bị ẩn.",
    "unknown_report": "Không có phản ánh %(code)s.",
    "choose_department": "Hãy chọn đơn vị xử lý.",
    "choose_category": "Hãy chọn lĩnh vực.",
    "photo_not_of_report": "Ảnh không thuộc phản ánh này.",
    "photo_not_ready": "Ảnh chưa xử lý xong; hãy thử lại sau ít phút.",
    "photo_copy_unreadable": "Không đọc được bản hiển thị của ảnh; hãy báo quản trị viên.",
    "region_invalid": "Vùng cần làm mờ phải nằm trong ảnh và không quá nhỏ.",
}

# administration (Refused) and calendar overrides (OverrideRefused): their reason.
ADMINISTRATION_REASONS = {
    "required": "bắt buộc nhập.",
    "too_long": "tối đa %(maximum)s ký tự.",
    "not_an_id": "giá trị không hợp lệ.",
    "control_characters": "không được chứa ký tự điều khiển.",
    "unknown_department": "không có đơn vị này.",
    "department_inactive": "đơn vị %(name)s đã ngừng hoạt động.",
    "unknown_area": "không có địa bàn %(code)s.",
    "department_code_taken": "đã có đơn vị mã %(code)s.",
    "choose_kind": "hãy chọn loại đơn vị.",
    "parent_cycle": "một đơn vị không thể là cấp trên của chính nó hay của đơn vị cấp trên của nó.",
    "choose_urgency": "hãy chọn thông thường, phức tạp hoặc khẩn cấp.",
    "not_a_whole_number": "hãy nhập một số nguyên.",
    "out_of_range": "từ %(minimum)s đến %(maximum)s.",
    "limit_format": "một số nguyên rồi m, h hoặc d, ví dụ 30m, 8h, 5d.",
    "choose_category": "hãy chọn lĩnh vực.",
    "choose_lead_department": "hãy chọn đơn vị chủ trì.",
    "choose_role": "hãy chọn vai trò.",
    "citizen_role": "công dân tự đăng ký trong ứng dụng.",
    "username_taken": "tên đăng nhập %(username)s đã có người dùng.",
    "officer_needs_department": "cán bộ đơn vị phải thuộc một đơn vị.",
    "password_too_short": "ít nhất %(minimum)s ký tự.",
    "not_staff": "không phải tài khoản cán bộ.",
    "own_admin_rights": "bạn không thể tự bỏ quyền quản trị của mình.",
    "date_has_override": "ngày %(day)s đã được khai báo; hãy xoá trước.",
    "not_a_working_day": "ngày %(day)s vốn đã là ngày nghỉ.",
    "already_a_working_day": "ngày %(day)s vốn đã là ngày làm việc.",
}


def _value(name: str, value):
    """A parameter as the reader reads it: moves, statuses and fields by their labels,
    times in local time, dates as dd/mm/yyyy."""
    from feedback.web.common import local_time

    if name == "move":
        return _(MOVE_LABELS.get(value, value))
    if name == "status":
        return status_label(value)
    if name == "field":
        return field_label(value)
    if isinstance(value, datetime):
        return local_time(value)
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return value


def _say(catalogue: dict, reason: str, params: dict) -> str | None:
    text = catalogue.get(reason)
    if text is None:
        return None
    return _(text, **{name: _value(name, value) for name, value in params.items()})


def field_label(field: str) -> str:
    return _(FIELD_LABELS[field]) if field in FIELD_LABELS else field


def workflow_message(error) -> str:
    """Why a move was refused. A refusal the catalogue does not know (the web view's own,
    written already in the reader's language) keeps its message."""
    return _say(WORKFLOW_REASONS, error.reason, error.params) or error.message


def refusal_message(error) -> tuple[str, str]:
    """(the field, why) of an administration or calendar refusal."""
    why = _say(ADMINISTRATION_REASONS, error.reason, error.params) or error.message
    return field_label(error.field), why


def validation_message(error: ma.ValidationError) -> str:
    """A form that did not pass its schema: each field at fault, named in the reader's
    language, and whether it was missing or not valid (marshmallow has no codes, and
    its English is for the API)."""
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    problems = []
    for field, texts in messages.items():
        texts = texts if isinstance(texts, list) else [texts]
        missing = any(isinstance(text, str) and text.startswith("Missing data")
                      for text in texts)
        why = _("chưa nhập") if missing else _("không hợp lệ")
        problems.append(why if field == "_schema" else f"{field_label(field)}: {why}")
    return "; ".join(problems)


# Why a photo was refused (feedback.services.photos.PhotoRejected codes, and intake's
# "too_many"), as "photos[i]: <code>: <English message>" details carry them.
PHOTO_PROBLEMS = {
    "empty": "tệp rỗng",
    "too_large": "tệp quá lớn",
    "too_many_pixels": "ảnh quá lớn (quá nhiều điểm ảnh)",
    "not_an_image": "không phải là ảnh",
    "unsupported_type": "định dạng không được nhận (chỉ JPEG, PNG, WebP, HEIC)",
    "truncated": "ảnh bị cắt dở, hãy gửi lại",
    "corrupt": "ảnh bị hỏng, không đọc được",
    "too_many": "quá số ảnh cho phép",
}


def photo_problems(details: dict[str, list[str]]) -> str:
    """The refused photos, each by its number and why, in the reader's language."""
    said = []
    for field, messages in details.items():
        number = field[len("photos["):-1] if field.startswith("photos[") else None
        for message in messages:
            code = message.split(":", 1)[0].strip()
            why = _(PHOTO_PROBLEMS[code]) if code in PHOTO_PROBLEMS else message
            said.append(_("ảnh %(n)s: %(why)s", n=int(number) + 1, why=why)
                        if number is not None and number.isdigit() else why)
    return "; ".join(said)
