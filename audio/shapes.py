"""The shapes of a document's apparatus lines (Decree 30/2020/NĐ-CP layout).

Shared by the cleaner, which matches whole lines, and by the column splitter, which finds
the same shapes inside a line where a pasted table or PDF flattened two columns into one.
"""

from __future__ import annotations

import re

NATIONAL = re.compile(
    r"cộng h(?:òa|oà) xã hội chủ nghĩa việt nam|đảng cộng sản việt nam|độc lập\s*[-–]\s*tự do\s*[-–]\s*hạnh phúc",
    re.IGNORECASE,
)
DOC_NUMBER = re.compile(
    r"Số\s*:?\s*[\d.]*\s*[/\-]?\s*[A-ZĐ][\wĐđ/\-&.]*|\d[\d.]*\s*/\s*[A-ZĐ]{1,10}(?:[-/][A-ZĐ0-9]{1,10})*"
)
PLACE_DATE = re.compile(
    r"[A-ZĐÀ-Ỹ][^\d,:;]{1,40},\s*(?i:ngày)(?:[\s\d.…_]*(?i:tháng)[\s\d.…_]*(?i:năm)\s*\d{0,4}|\s*\d{1,2}/\d{1,2}/\d{2,4})\s*\.?"
)
ISSUER_WORD = re.compile(
    r"\b(?:UBND|HĐND|ỦY BAN|UỶ BAN|BAN|BCĐ|BCH|SỞ|PHÒNG|BỘ|CỤC|TỈNH|HUYỆN|QUẬN|THỊ XÃ|THÀNH PHỐ|XÃ|PHƯỜNG|"
    r"THỊ TRẤN|THÔN|ẤP|BẢN|TỔ|ĐẢNG|ĐẢNG ỦY|ĐOÀN|HỘI|MẶT TRẬN|CÔNG AN|QUÂN SỰ|TRUNG TÂM|TRẠM|ĐÀI|BỆNH VIỆN|"
    r"TRƯỜNG|CHÍNH PHỦ|QUỐC HỘI|VIỆN|CÔNG TY|HỢP TÁC XÃ)\b"
)
AUTHORITY = re.compile(r"(?:KT|TM|T/M|TL|TUQ|Q|PT)\s*[.:]?\s+[A-ZĐÀ-Ỹ].*")
POSITION = re.compile(
    r"(?:PHÓ\s+|Q\.\s*)?(?:CHỦ TỊCH|GIÁM ĐỐC|TỔNG GIÁM ĐỐC|BÍ THƯ|TỔNG BÍ THƯ|CHÁNH VĂN PHÒNG|CHÁNH ÁN|"
    r"THỦ TRƯỞNG|CHỦ NHIỆM|THỦ TƯỚNG|CHỈ HUY TRƯỞNG|TRƯỞNG\s|[A-ZĐÀ-Ỹ ]*TRƯỞNG$|KẾ TOÁN|NGƯỜI KÝ).*"
)
SIGNED = re.compile(r"\(?\s*(?i:đã ký|ký tên[^)]*|ký, ghi rõ họ tên|ký và ghi rõ họ tên|chữ ký số|\[?daky\]?)\s*\)?\.?")



def letters(text: str) -> str:
    return "".join(c for c in text if c.isalpha())


def is_caps(text: str) -> bool:
    found = letters(text)
    return len(found) >= 2 and found.isupper()


def is_name(text: str) -> bool:
    words = text.split()
    return 2 <= len(words) <= 6 and len(text) <= 50 and all(
        w.isalpha() and w[0].isupper() and (len(w) == 1 or w[1:].islower()) for w in words
    )


def is_signature_line(text: str) -> bool:
    return len(text) <= 120 and is_caps(text) and bool(AUTHORITY.fullmatch(text) or POSITION.fullmatch(text))
