"""Official documents made on the spot, for the intake benchmark and tests.

A commune notice in the Decree 30/2020 layout (two-column header, title, body, recipients
beside the signature) is written as a PDF with a text layer (fpdf2) and drawn as a page
image (Pillow), with a Vietnamese font; :func:`phone_photo` then spoils a page the way a
phone camera does.  Nothing here reads documents: it only makes them.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass
from pathlib import Path

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
SERIF = FONT_DIR / "DejaVuSerif.ttf"
SERIF_BOLD = FONT_DIR / "DejaVuSerif-Bold.ttf"


@dataclass(frozen=True)
class Notice:
    issuer: tuple[str, ...]
    number: str
    motto: tuple[str, ...]
    place_date: str
    kind: str
    subject: str
    body: tuple[str, ...]
    recipients: tuple[str, ...]
    signature: tuple[str, ...]

    @property
    def apparatus(self) -> tuple[str, ...]:
        """The lines an announcer never reads."""
        return (*self.issuer, self.number, *self.motto, self.place_date, *self.recipients, *self.signature)


NOTICE = Notice(
    issuer=("ỦY BAN NHÂN DÂN", "XÃ HÒA BÌNH"),
    number="Số: 45/TB-UBND",
    motto=("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"),
    place_date="Hòa Bình, ngày 12 tháng 3 năm 2025",
    kind="THÔNG BÁO",
    subject="Về việc tiêm vắc xin phòng bệnh lở mồm long móng cho đàn gia súc",
    body=(
        "Thực hiện kế hoạch phòng chống dịch bệnh cho đàn vật nuôi năm 2025, Ủy ban nhân dân xã thông báo "
        "đến toàn thể nhân dân lịch tiêm vắc xin phòng bệnh lở mồm long móng như sau.",
        "Thời gian tiêm từ ngày 17 đến ngày 21 tháng 3 năm 2025, buổi sáng từ bảy giờ đến mười một giờ. "
        "Địa điểm tiêm tại nhà văn hóa các thôn Đông, thôn Tây và thôn Bắc.",
        "Đề nghị các hộ chăn nuôi trâu, bò, lợn đưa vật nuôi đến đúng giờ, buộc giữ cẩn thận và mang theo "
        "sổ theo dõi tiêm phòng. Cán bộ thú y sẽ hướng dẫn chăm sóc vật nuôi sau khi tiêm.",
        "Ủy ban nhân dân xã đề nghị trưởng các thôn thông báo rộng rãi để bà con biết và thực hiện.",
    ),
    recipients=("Nơi nhận:", "- Các thôn;", "- Trạm thú y;", "- Lưu: VT."),
    signature=("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "(đã ký)", "Nguyễn Văn An"),
)

# Plain running text for the OCR accuracy benchmark: one column, no apparatus.
OCR_TEXT = (
    "Trạm khí tượng thủy văn tỉnh thông báo: trong hai ngày tới, khu vực các xã vùng trũng có mưa vừa đến "
    "mưa to, lượng mưa phổ biến từ năm mươi đến một trăm milimét, có nơi trên một trăm năm mươi milimét. "
    "Mực nước trên các sông suối nhỏ tiếp tục lên nhanh, nguy cơ cao xảy ra lũ quét và sạt lở đất ở vùng "
    "núi. Đề nghị nhân dân không đi qua ngầm tràn khi nước lũ đang lên, không vớt củi trên sông, chủ động "
    "chằng chống nhà cửa, di chuyển tài sản và vật nuôi lên chỗ cao. Các hộ nuôi trồng thủy sản cần gia cố "
    "bờ ao, chuẩn bị lưới chắn để hạn chế thiệt hại. Ban chỉ huy phòng chống thiên tai xã trực ban hai mươi "
    "bốn giờ mỗi ngày; khi có sự cố, bà con báo ngay cho trưởng thôn hoặc cán bộ xã để được hỗ trợ kịp thời."
)


def official_pdf(notice: Notice = NOTICE, pages: int = 1) -> bytes:
    """The notice as a PDF with a text layer, laid out as Decree 30/2020 prescribes (A4)."""
    from fpdf import FPDF
    from fpdf.enums import Align, XPos, YPos

    pdf = FPDF(format="A4")
    pdf.add_font("Serif", "", str(SERIF))
    pdf.add_font("Serif", "B", str(SERIF_BOLD))
    pdf.set_margins(20, 15, 15)
    pdf.set_auto_page_break(True, 15)
    pdf.add_page()
    left_w, right_x, right_w = 70.0, 85.0, 110.0

    def column(x: float, w: float, lines: tuple[str, ...], y: float, bold: set[int], size: float = 12) -> float:
        for i, text in enumerate(lines):
            pdf.set_font("Serif", "B" if i in bold else "", size)
            pdf.set_xy(x, y)
            pdf.cell(w, 6, text, align=Align.C)
            y += 6
        return y

    top = pdf.get_y()
    column(15, left_w, (*notice.issuer, notice.number), top, {1}, 11)
    column(right_x, right_w, (*notice.motto, notice.place_date), top, {0, 1}, 11)
    pdf.set_y(top + 28)
    pdf.set_font("Serif", "B", 13)
    pdf.cell(0, 7, notice.kind, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.multi_cell(0, 7, notice.subject, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font("Serif", "", 12)
    for paragraph in notice.body:
        pdf.multi_cell(0, 6.5, "     " + paragraph, align=Align.J, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
    pdf.ln(4)
    top = pdf.get_y()
    column(15, 65, notice.recipients, top, {0}, 10)
    column(right_x, right_w, notice.signature, top, {0, 1}, 11)
    for n in range(2, pages + 1):
        pdf.add_page()
        pdf.set_font("Serif", "", 12)
        pdf.multi_cell(0, 6.5, f"Phụ lục trang {n}. " + notice.body[n % len(notice.body)], align=Align.J)
    return bytes(pdf.output())


def _font(size: int, bold: bool = False):  # noqa: ANN202 - PIL's font type
    from PIL import ImageFont

    return ImageFont.truetype(str(SERIF_BOLD if bold else SERIF), size)


def _wrap(draw, text: str, font, width: int) -> list[str]:  # noqa: ANN001
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) <= width:
            line = trial
        else:
            lines.append(line)
            line = word
    return [*lines, line] if line else lines


def text_page(text: str = OCR_TEXT, dpi: int = 200, size_pt: float = 12.0):  # noqa: ANN201 - PIL image
    """A white A4 page carrying ``text`` in one justified-left column (what a scanner gives)."""
    from PIL import Image, ImageDraw

    w, h = int(8.27 * dpi), int(11.69 * dpi)
    page = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(page)
    font = _font(round(size_pt * dpi / 72))
    margin = int(0.9 * dpi)
    y = margin
    step = int(font.size * 1.5)
    for line in _wrap(draw, text, font, w - 2 * margin):
        draw.text((margin, y), line, font=font, fill="black")
        y += step
    return page


def notice_page(notice: Notice = NOTICE, dpi: int = 200, stamp: bool = True):  # noqa: ANN201 - PIL image
    """The notice drawn as a page image, with a red round stamp and a blue signature over the signer."""
    from PIL import Image, ImageDraw

    w, h = int(8.27 * dpi), int(11.69 * dpi)
    page = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(page)
    px = dpi / 25.4

    def centred(lines: tuple[str, ...], x0: float, x1: float, y: float, bold: set[int], size: float) -> float:
        for i, text in enumerate(lines):
            font = _font(round(size * dpi / 72), i in bold)
            tw = draw.textlength(text, font=font)
            draw.text(((x0 + x1) / 2 * px - tw / 2, y), text, font=font, fill="black")
            y += 6.5 * px
        return y

    top = 15 * px
    centred((*notice.issuer, notice.number), 15, 85, top, {1}, 11)
    centred((*notice.motto, notice.place_date), 85, 195, top, {0, 1}, 11)
    y = centred((notice.kind,), 20, 195, top + 30 * px, {0}, 13)
    body_font = _font(round(12 * dpi / 72))
    for line in _wrap(draw, notice.subject, _font(round(13 * dpi / 72), True), int(170 * px)):
        y = centred((line,), 20, 195, y, {0}, 13)
    y += 4 * px
    for paragraph in notice.body:
        for line in _wrap(draw, paragraph, body_font, int(175 * px)):
            draw.text((20 * px, y), line, font=body_font, fill="black")
            y += 7 * px
        y += 2 * px
    y += 6 * px
    centred(notice.recipients, 15, 80, y, {0}, 10)
    centred(notice.signature, 85, 195, y, {0, 1}, 11)
    if stamp:
        _stamp(page, 118 * px, y + 12 * px, 17 * px, px, dpi)
    return page


def _stamp(page, cx: float, cy: float, r: float, px: float, dpi: int) -> None:  # noqa: ANN001
    """A round red seal and a blue signature, multiplied onto the page as ink is: the print beneath stays black."""
    from PIL import Image, ImageChops, ImageDraw

    layer = Image.new("RGB", page.size, "white")
    draw = ImageDraw.Draw(layer)
    y = cy - 12 * px
    if True:
        red = (205, 30, 35)
        for k in range(3):
            draw.ellipse((cx - r + k, cy - r + k, cx + r - k, cy + r - k), outline=red, width=max(2, int(px * 0.6)))
        draw.ellipse((cx - r * 0.7, cy - r * 0.7, cx + r * 0.7, cy + r * 0.7), outline=red, width=max(2, int(px * 0.4)))
        draw.text((cx - r * 0.5, cy - 6), "UBND XÃ", font=_font(round(7 * dpi / 72), True), fill=red)
        sx, sy = 125 * px, y + 16 * px
        points = [(sx + t * 4, sy + 18 * math.sin(t / 5.0)) for t in range(0, 120)]
        draw.line(points, fill=(30, 50, 170), width=max(2, int(px * 0.5)))
    page.paste(ImageChops.multiply(page, layer))


def phone_photo(page, angle: float = 3.0, blur: float = 1.2, seed: int = 7, quality: int = 70) -> bytes:  # noqa: ANN001
    """``page`` as a phone photographs it: on a dark table, turned a few degrees, blurred,
    lit unevenly (brighter in one corner), with sensor noise, saved as a JPEG."""
    import numpy as np
    from PIL import Image, ImageFilter

    w, h = page.size
    pad = int(0.06 * w)
    table = Image.new("RGB", (w + 2 * pad, h + 2 * pad), (70, 60, 50))
    table.paste(page, (pad, pad))
    turned = table.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=(70, 60, 50))
    soft = turned.filter(ImageFilter.GaussianBlur(blur))
    a = np.asarray(soft).astype(np.float32)
    yy, xx = np.mgrid[0:a.shape[0], 0:a.shape[1]]
    light = 0.6 + 0.4 * (1 - (xx / a.shape[1] * 0.6 + yy / a.shape[0] * 0.4))
    rng = np.random.default_rng(seed)
    a = a * light[..., None] * np.array([1.0, 0.97, 0.9]) + rng.normal(0, 4, a.shape)
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=quality)
    random.seed(seed)
    return buf.getvalue()


def jpeg(page, quality: int = 90) -> bytes:  # noqa: ANN001
    buf = io.BytesIO()
    page.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def png(page) -> bytes:  # noqa: ANN001
    buf = io.BytesIO()
    page.save(buf, "PNG")
    return buf.getvalue()


def scanned_pdf(pages: list) -> bytes:  # noqa: ANN001
    """Page images bound as a PDF with no text layer, as a scanner saves them."""
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", resolution=200, save_all=True, append_images=pages[1:])
    return buf.getvalue()
