"""What a web page adds to a bulletin when an official selects all and pastes.

Commune, district and provincial portals wrap each notice in the same furniture: the site's
name, a breadcrumb trail, the posting weekday and time, a view counter, font-size and share
buttons, attachment links, a "related news" list and a footer.  None of it is read on air.
Each shape is matched on a whole line only, so a body sentence that mentions the portal
("… được đăng trên Cổng thông tin điện tử của xã") is never taken for it.

Some shapes are *weak*: a bare "Facebook", a weekday and date without a time, a contact
line.  On their own they may be body text (a schedule line, a notice's address), so they
are dropped only next to a line that is certainly page furniture.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from audio.stamp import STAMP, stamp_line

SITE = "Tên trang web"
BREADCRUMB = "Chuyên mục trang web"
POSTED = "Ngày giờ đăng"
COUNTER = "Lượt xem"
BUTTONS = "Nút chia sẻ, in, cỡ chữ"
ATTACHMENT = "Tệp đính kèm"
FILE_PATH = "Đường dẫn tệp"
RELATED = "Tin liên quan"
FOOTER = "Chân trang web"
NAVIGATION = "Trình đơn trang web"
COMMENTS = "Khung bình luận"
BYLINE = "Tác giả, nguồn tin"


@dataclass(frozen=True)
class Furniture:
    """A line recognised as page furniture; ``weak`` ones need a certain neighbour."""

    reason: str
    weak: bool = False


_DAY = r"(?:thứ\s*(?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ\s*nhật|cn|t[2-7])"
_DATE = r"\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*\d{4}"
_CLOCK = r"\d{1,2}\s*[:h]\s*\d{2}(?:\s*:\s*\d{2})?(?:\s*(?:am|pm|sa|ch))?(?:\s*\(?(?:gmt|utc)\s*[+-]\s*\d{1,2}(?::?\d{2})?\)?)?"
_ISO = r"\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?"
_SEP = r"\s*[,|\-–—]?\s*(?:lúc\s*)?"
_POSTED_LABEL = (
    r"(?:ngày\s+đăng|đăng\s+ngày|đăng\s+lúc|ngày\s+cập\s+nhật|cập\s+nhật(?:\s+lúc)?|thời\s+gian\s+đăng|"
    r"ngày\s+xuất\s+bản|xuất\s+bản|ngày\s+gửi|đăng\s+tải|posted|updated)\s*:?\s*"
)
_TIMESTAMP = re.compile(
    rf"(?i:(?:{_POSTED_LABEL})?(?:{_ISO}|(?:{_DAY}{_SEP})?{_DATE}{_SEP}{_CLOCK}|{_CLOCK}{_SEP}(?:{_DAY}{_SEP})?{_DATE}))"
)
_LABELLED_DATE = re.compile(rf"(?i:{_POSTED_LABEL}(?:{_DAY}{_SEP})?{_DATE})")
_WEEKDAY_DATE = re.compile(rf"(?i:{_DAY}{_SEP}(?:ngày\s*)?{_DATE})")

_SITE = re.compile(
    r"(?i:(?:trang|cổng)\s+(?:thông\s+tin\s+điện\s+tử|tttđt|ttđt)|cổng\s+thông\s+tin|website)"
    r"(?P<name>\s+[^.!?:;\d]{1,80})?"
)
_SITE_OWNER = re.compile(
    r"(?:của\s+)?(?:(?:xã|phường|thị\s+trấn|huyện|quận|thị\s+xã|thành\s+phố|tỉnh|sở|bộ|ban|ủy\s+ban\s+nhân\s+dân|"
    r"uỷ\s+ban\s+nhân\s+dân|UBND|HĐND)\s+)*(?:[A-ZĐÀ-Ỹ][\wÀ-ỹ-]*\s*)*"
)
_BREADCRUMB_HOME = re.compile(r"(?i:trang\s+chủ|trang\s+nhất|home)\s*(?:[>»›/|]\s*[^>»›|]{1,80})+")
_BREADCRUMB = re.compile(r"[^>»›]{1,60}(?:\s*[»›]\s*[^>»›]{1,60})+")
_RELATED = re.compile(
    r"(?i:(?:các\s+)?(?:tin|bài(?:\s+viết)?|tin\s+bài)\s+(?:liên\s+quan|khác|cùng\s+chuyên\s+mục|đã\s+đưa|mới(?:\s+nhất)?|"
    r"đọc\s+nhiều(?:\s+nhất)?|xem\s+nhiều(?:\s+nhất)?)|xem\s+thêm|có\s+thể\s+bạn\s+quan\s+tâm)\s*:?"
)
_COUNTER = r"(?:số\s+)?(?:lượt\s+(?:xem|đọc|truy\s+cập|thích)|đã\s+xem|views?)\s*:?\s*[\d.,]+"
_BUTTON = (
    r"chia\s+sẻ(?:\s+bài\s+viết)?\s*:?|in\s+bài(?:\s+viết)?|in\s+trang|bản\s+in|gửi\s+(?:e-?mail|bài\s+viết|cho\s+bạn\s+bè)|"
    r"lưu\s+bài(?:\s+viết)?|nghe\s+(?:đọc\s+)?bài(?:\s+viết)?|đọc\s+bài\s+viết|phóng\s+to|thu\s+nhỏ|"
    r"(?:tăng|giảm)\s+cỡ\s+chữ|cỡ\s+chữ\s*:?|mặc\s+định|copy\s+link|sao\s+chép\s+(?:liên\s+kết|đường\s+dẫn)|"
    r"quay\s+lại|(?:về|lên)\s+đầu\s+trang|\d*\s*bình\s+luận|đánh\s+giá\s+bài\s+viết|a\s*[-+]"
)
_SOCIAL = r"facebook|zalo|twitter|x|e-?mail|in|print|linkedin|messenger|youtube|tiktok|like|share|tweet|thích|a"
_TOOLBAR_TOKEN = re.compile(rf"(?i:{_COUNTER}|{_BUTTON}|{_SOCIAL})(?![\w+-])")
_TOOLBAR_SEP = re.compile(r"[\s|•·/;]+")
_STRONG_TOOLBAR = re.compile(rf"(?i:{_COUNTER}|{_BUTTON})")

_FILE_NAME = r"[^\n\\/:*?\"<>|]{1,120}\.(?i:docx?|pdf|xlsx?|odt|ods|rtf|pptx?|zip|rar|7z|jpe?g|png)"
_FILE_SIZE = r"(?:\s*[(\[]?\s*\d+(?:[.,]\d+)?\s*(?i:kb|mb|bytes?)\s*[)\]]?)?"
_ATTACHMENT = re.compile(
    rf"(?i:tải\s+về|tải\s+xuống|download|(?:tệp|file|tập\s+tin|tài\s+liệu|văn\s+bản)\s+đính\s+kèm|đính\s+kèm)"
    rf"(?:\s*:?\s*{_FILE_NAME}{_FILE_SIZE}|\s*:?)?(?:\s*[|-]?\s*(?i:tải\s+về|tải\s+xuống|download))?"
)
_FILE_PATH = re.compile(
    r"(?:[A-Za-z]:[\\/]|\\{1,2}[^\\\s]+\\|(?:~|/home|/Users|/mnt|/media|/tmp|/srv|/var)/)\S.*"
    rf"|(?=.{{1,80}}$)[^\s\\/:*?\"<>|][^\n\\/:*?\"<>|]{{0,70}}[^\s\\/:*?\"<>|.]\.(?i:docx?|pdf|xlsx?|odt|rtf|zip|rar){_FILE_SIZE}"
)
_FOOTER = re.compile(
    r"(?i:bản\s+quyền(?:\s+thuộc\s+về)?|©|\(c\)|copyright|chịu\s+trách\s+nhiệm(?:\s+(?:chính|nội\s+dung|xuất\s+bản))?\s*:|"
    r"giấy\s+phép\s+(?:số|thiết\s+lập|hoạt\s+động)|cơ\s+quan\s+chủ\s+quản\s*:|thiết\s+kế\s+bởi|phát\s+triển\s+bởi|"
    r"ghi\s+rõ\s+nguồn|đang\s+truy\s+cập\s*:|tổng\s+(?:số\s+)?lượt\s+truy\s+cập\s*:).{0,200}"
)
_CONTACT = re.compile(r"(?i:địa\s+chỉ|điện\s+thoại|đt|fax|e-?mail|hotline|đường\s+dây\s+nóng)\s*:.{1,200}")
_HEADLINE_MAX = 200

# Menu items a portal's navigation bar repeats on every page.  The certain ones never
# stand alone in a notice; the others ("Liên hệ", "Tin tức - Sự kiện") go only in a run.
_NAV_STRONG = re.compile(
    r"(?i:skip\s+to\s+(?:main\s+)?content|bỏ\s+qua\s+nội\s+dung|trang\s+chủ|trang\s+nhất|home|menu|danh\s+mục|"
    r"sơ\s+đồ\s+(?:site|trang|cổng|website)|site\s*map|đăng\s+nhập|đăng\s+xuất|đăng\s+ký\s+tài\s+khoản|quên\s+mật\s+khẩu|"
    r"tìm\s+kiếm(?:\s+nâng\s+cao)?|english|tiếng\s+việt|liên\s+kết\s+website)\s*[:…]?"
)
_NAV_HEADS = (
    r"giới\s+thiệu|tin\s+tức|tin\s+tổng\s+hợp|thông\s+tin\s+(?:chỉ\s+đạo|tuyên\s+truyền|cần\s+biết)|văn\s+bản|"
    r"thủ\s+tục\s+hành\s+chính|dịch\s+vụ\s+công|liên\s+hệ|góp\s+ý|thư\s+viện\s+(?:ảnh|video|số)|lịch\s+công\s+tác|"
    r"công\s+khai|chuyên\s+mục|hệ\s+thống\s+chính\s+trị|chính\s+quyền|đảng\s+bộ|mặt\s+trận|đoàn\s+thể|"
    r"quốc\s+phòng\s*-\s*an\s+ninh|kinh\s+tế|văn\s+hóa\s*-\s*xã\s+hội|cải\s+cách\s+hành\s+chính|"
    r"chuyển\s+đổi\s+số|sự\s+kiện|hỏi\s+đáp|tổng\s+quan|lịch\s+sử|bộ\s+máy\s+tổ\s+chức|cơ\s+cấu\s+tổ\s+chức"
)
_NAV_WEAK = re.compile(rf"(?i:(?:{_NAV_HEADS})(?:\s*[-–&,/]\s*|\s+)?[\wÀ-ỹ ,&/-]{{0,40}})")
# A comment form and its fields, under an article.
_COMMENT_MARK = re.compile(
    r"(?i:ý\s+kiến\s+(?:bạn\s+đọc|của\s+bạn|phản\s+hồi)|(?:viết|gửi|thêm)\s+(?:bình\s+luận|ý\s+kiến|phản\s+hồi)(?:\s+của\s+bạn)?|"
    r"bình\s+luận(?:\s+của\s+bạn)?(?:\s*\(\d+\))?|bạn\s+đọc\s+(?:bình\s+luận|góp\s+ý|phản\s+hồi)|"
    r"chưa\s+có\s+(?:bình\s+luận|ý\s+kiến)(?:\s+nào)?|\d+\s+(?:bình\s+luận|ý\s+kiến|phản\s+hồi)|"
    r"bạn\s+còn\s+\d+(?:/\d+)?\s+ký\s+tự|ý\s+kiến\s+của\s+bạn\s+sẽ\s+được\s+biên\s+tập.{0,120})\s*:?"
)
# Where a comment section opens: the lines under it are comments (a name and a time, then the text).
_COMMENTS_OPEN = re.compile(
    r"(?i:ý\s+kiến\s+(?:bạn\s+đọc|của\s+bạn)|(?:viết|gửi)\s+(?:bình\s+luận|ý\s+kiến)(?:\s+của\s+bạn)?|"
    r"bình\s+luận(?:\s+của\s+bạn)?(?:\s*\(\d+\))?|bạn\s+đọc\s+(?:bình\s+luận|góp\s+ý)|các\s+bình\s+luận)\s*:?"
)
_COMMENT_HEAD = re.compile(
    rf"(?:[A-ZĐÀ-Ỹ][\wÀ-ỹ]*\s+){{0,4}}[A-ZĐÀ-Ỹ][\wÀ-ỹ]*\s*(?:[-–|,]\s*|\(\s*)"
    rf"(?i:{_DATE}(?:{_SEP}{_CLOCK})?|{_CLOCK}{_SEP}{_DATE}|\d+\s+(?:phút|giờ|ngày)\s+trước)\s*\)?"
)
# Who wrote the article, where it comes from, its tags: "Tin, ảnh: Minh Anh", "Nguồn: …", "Từ khóa: …".
_BYLINE = re.compile(
    r"(?i:tin(?:\s*(?:,|và)\s*ảnh)?|bài(?:\s*(?:,|và)\s*ảnh)?|tin\s+bài|tác\s+giả|người\s+viết|phóng\s+viên|"
    r"nguồn(?:\s+tin)?|theo\s+nguồn|từ\s+khóa|từ\s+khoá|tags?|thẻ)\s*:\s*[^.!?]{1,120}"
)
_AUTHOR = re.compile(r"(?:[A-ZĐÀ-Ỹ][a-zđà-ỹ]*(?:['’-][A-ZĐÀ-Ỹa-zđà-ỹ]+)*\.?\s+){0,3}[A-ZĐÀ-Ỹ][a-zđà-ỹ]*(?:['’-][A-ZĐÀ-Ỹa-zđà-ỹ]+)*")
_FORM_FIELD = re.compile(
    r"(?i:họ\s+(?:và\s+)?tên|tên\s+của\s+bạn|e-?mail|địa\s+chỉ\s+e-?mail|số\s+điện\s+thoại|điện\s+thoại|nội\s+dung|"
    r"tiêu\s+đề|mã\s+(?:xác\s+nhận|bảo\s+mật|kiểm\s+tra|captcha)|nhập\s+mã(?:\s+\w+){0,3}|captcha|gửi|hủy|huỷ|"
    r"làm\s+lại|nhập\s+lại|xóa|xoá|đóng|trả\s+lời|thích|báo\s+vi\s+phạm)\s*(?:\(\s*\*\s*\)|\*)?\s*:?"
)


def _toolbar(text: str) -> Furniture | None:
    rest = _TOOLBAR_SEP.sub(" ", text).strip()
    if not rest:
        return None
    pos, strong = 0, False
    while pos < len(rest):
        m = _TOOLBAR_TOKEN.match(rest, pos)
        if not m:
            return None
        strong = strong or bool(_STRONG_TOOLBAR.fullmatch(m.group(0)))
        pos = m.end()
        while pos < len(rest) and rest[pos] == " ":
            pos += 1
    counter = re.fullmatch(rf"(?i:{_COUNTER})", rest)
    return Furniture(COUNTER if counter else BUTTONS, weak=not strong)


def furniture(text: str) -> Furniture | None:
    """The kind of page furniture ``text`` (one whole line) is, or None for anything else."""
    if not text or len(text) > 300:
        return None
    stamped = stamp_line(text)
    if stamped is not None:
        return Furniture(STAMP, weak=not stamped)
    if _NAV_STRONG.fullmatch(text):
        return Furniture(NAVIGATION)
    if _COMMENT_MARK.fullmatch(text):
        return Furniture(COMMENTS)
    if _BYLINE.fullmatch(text) and len(text) <= 140:
        return Furniture(BYLINE)
    if _FILE_PATH.fullmatch(text):
        return Furniture(FILE_PATH)
    if _ATTACHMENT.fullmatch(text):
        return Furniture(ATTACHMENT)
    if _TIMESTAMP.fullmatch(text) or _LABELLED_DATE.fullmatch(text):
        return Furniture(POSTED)
    site = _SITE.fullmatch(text)
    if site and len(text) <= 120:
        owner = (site["name"] or "").strip()
        if not owner or owner.isupper() or _SITE_OWNER.fullmatch(owner):
            return Furniture(SITE)
    if _BREADCRUMB_HOME.fullmatch(text) or (_BREADCRUMB.fullmatch(text) and not text.endswith(".")):
        return Furniture(BREADCRUMB)
    if _RELATED.fullmatch(text):
        return Furniture(RELATED)
    if _FOOTER.fullmatch(text):
        return Furniture(FOOTER)
    found = _toolbar(text)
    if found:
        return found
    if _WEEKDAY_DATE.fullmatch(text) or re.fullmatch(_DATE, text):
        return Furniture(POSTED, weak=True)
    if _CONTACT.fullmatch(text):
        return Furniture(FOOTER, weak=True)
    if _FORM_FIELD.fullmatch(text):
        return Furniture(COMMENTS, weak=True)
    if len(text) <= 60 and not re.search(r"[.!?:;…]$", text) and _NAV_WEAK.fullmatch(text):
        return Furniture(NAVIGATION, weak=True)
    return None


def is_related_marker(text: str) -> bool:
    """"Tin liên quan" and its kin: the lines after it are other articles' headlines."""
    return bool(_RELATED.fullmatch(text))


def is_headline(text: str) -> bool:
    """A link title in a related-news list: short, one phrase, no closing full stop."""
    return 0 < len(text) <= _HEADLINE_MAX and not re.search(r"[.!?:;…]$", text) and not re.search(r"[.!?] \S", text)


def mark(lines: list[str]) -> dict[int, str]:
    """Index → reason for every line of ``lines`` that is page furniture.

    Certain shapes are marked first; weak ones are marked when their nearest non-blank
    neighbour is marked (so a run of share buttons goes as a whole); the headlines under a
    related-news marker go with it."""
    found = {i: f for i, t in enumerate(lines) if (f := furniture(t))}
    marked = {i: f.reason for i, f in found.items() if not f.weak}
    _spread(lines, found, marked)
    _comments(lines, marked)
    _bylines(lines, marked)
    _spread(lines, found, marked)
    for i in sorted(marked):
        if marked[i] != RELATED:
            continue
        k = i + 1
        while k < len(lines):
            t = lines[k]
            if t and k not in marked:
                if not is_headline(t):
                    break
                marked[k] = RELATED
            k += 1
    return marked


def _spread(lines: list[str], found: dict[int, Furniture], marked: dict[int, str]) -> None:
    """Mark weak furniture whose nearest non-blank neighbour is marked, until nothing changes."""
    changed = True
    while changed:
        changed = False
        for i, f in found.items():
            if i in marked:
                continue
            if any(n in marked for n in _neighbours(lines, i)):
                marked[i] = f.reason
                changed = True


def _comments(lines: list[str], marked: dict[int, str]) -> None:
    """Under a comment section's heading, each comment (a name and a time, then its text) goes."""
    for i in sorted(k for k, r in marked.items() if r == COMMENTS and _COMMENTS_OPEN.fullmatch(lines[k])):
        in_comment = False
        for k in range(i + 1, len(lines)):
            t = lines[k]
            if not t:
                continue
            if k in marked:
                if marked[k] in (RELATED, FOOTER, NAVIGATION, SITE, BREADCRUMB):
                    break  # the comments end where the page's other furniture begins
                in_comment = bool(_COMMENT_HEAD.fullmatch(t)) or in_comment
                continue
            if _COMMENT_HEAD.fullmatch(t) or (in_comment and len(t) <= 1000):
                marked[k] = COMMENTS
                in_comment = True
                continue
            break


def _bylines(lines: list[str], marked: dict[int, str]) -> None:
    """The author's bare name just before or after a byline line ("Minh Anh", "H'Linh" above "Nguồn: …")."""
    for i in [k for k, r in marked.items() if r == BYLINE]:
        for n in _neighbours(lines, i):
            if n not in marked and _AUTHOR.fullmatch(lines[n]):
                marked[n] = BYLINE


def _neighbours(lines: list[str], i: int) -> list[int]:
    out = []
    for step in (-1, 1):
        k = i + step
        while 0 <= k < len(lines) and not lines[k]:
            k += step
        if 0 <= k < len(lines):
            out.append(k)
    return out
