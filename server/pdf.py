"""The e-permit a visitor carries: its QR code as PNG and a printable A4 PDF in the visitor's language.

The PDF is drawn with fpdf2 in DejaVu Sans, which has the Kazakh letters (ә ғ қ ң ө ұ ү һ і). The font is
the system's (Debian ``fonts-dejavu-core``, found with ``fc-match``); nothing is downloaded at run time.
The permit id is in the document's title and subject too, so a program can find it without parsing text.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Final

import qrcode
from fpdf import FPDF
from qrcode.constants import ERROR_CORRECT_M

from server.bookings import Booking
from server.errors import ConfigError
from server.i18n import N_, format_day, format_moment, format_money, format_time, gettext_for, translate
from server.pricing import CATEGORY_LABELS, VEHICLE_LABELS

_FONT_DIRS: Final = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
_FONT_FILES: Final = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}

# Sentences of the printed permit (the page shows the same ones)
TITLE: Final = N_("E-permit")
SHOW_AT_GATE: Final = N_("Show this QR code at the park's gate, on your phone or on paper.")
NO_PERSONAL_DATA: Final = N_("The permit holds no personal data. Keep it private: the code is the permit.")


def qr_png(token: str, box_size: int = 8) -> bytes:
    """The QR code of a permit token (error correction M) as PNG."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(token)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue()


@cache
def font_files() -> dict[str, Path]:
    """DejaVu Sans regular and bold from the system; ConfigError naming the package when missing."""
    found: dict[str, Path] = {}
    for style, name in _FONT_FILES.items():
        for directory in _FONT_DIRS:
            if (directory / name).is_file():
                found[style] = directory / name
                break
        else:
            found_by_fc = _fc_match("DejaVu Sans:bold" if style else "DejaVu Sans")
            if found_by_fc is None or found_by_fc.name != name:
                raise ConfigError(f"font {name} not found: install the Debian package fonts-dejavu-core")
            found[style] = found_by_fc
    return found


def _fc_match(pattern: str) -> Path | None:
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    result = subprocess.run([fc_match, "-f", "%{file}", pattern], capture_output=True, text=True, check=False)
    return Path(result.stdout.strip()) if result.returncode == 0 and result.stdout.strip() else None


def booking_lines(booking: Booking, lang: str) -> list[tuple[str, str]]:
    """(label, value) rows describing a booking, as the page and the PDF show them."""
    _ = gettext_for(lang)
    rows = [(_("Park"), booking.park.name), (_("Day"), format_day(booking.day, lang))]
    if booking.slot is not None:
        rows.append((_("Entry time"), format_time(booking.slot, lang)))
    for name, count in booking.party.counts().items():
        if count:
            rows.append((_(CATEGORY_LABELS[name]), str(count)))
    if booking.vehicle_class is not None:
        rows.append((_(VEHICLE_LABELS[booking.vehicle_class]), booking.permit.plate or ""))
    rows.append((_("Price"), format_money(booking.price, lang)))
    if booking.payment_reference:
        rows.append((_("Payment reference"), booking.payment_reference))
    rows.append((_("Valid"), _valid_text(booking, lang)))
    return rows


def _valid_text(booking: Booking, lang: str) -> str:
    tz = booking.park.timezone
    return translate(
        lang,
        N_("from %(start)s to %(end)s"),
        start=format_moment(booking.permit.valid_from, lang, tz),
        end=format_moment(booking.permit.valid_until + 1, lang, tz),
    )


def permit_pdf(booking: Booking, lang: str) -> bytes:
    """A one-page A4 PDF of the permit: what was booked, the QR code and the permit id."""
    _ = gettext_for(lang)
    fonts = font_files()
    pdf = FPDF(format="A4")
    pdf.set_title(f"Qaqpa {_(TITLE)} {booking.permit.id}")
    pdf.set_subject(f"permit {booking.permit.id} {booking.park.slug} {booking.day.isoformat()}")
    pdf.set_creator("Qaqpa")
    pdf.set_lang(lang)
    for style, path in fonts.items():
        pdf.add_font("DejaVu", style, str(path))
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 22)
    pdf.cell(0, 12, _(TITLE), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 14)
    pdf.cell(0, 8, booking.park.name, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    qr_size = 90
    pdf.image(io.BytesIO(qr_png(booking.permit.token, box_size=10)), x=(pdf.w - qr_size) / 2, w=qr_size, h=qr_size)
    pdf.set_font("DejaVu", "B", 14)
    pdf.cell(0, 9, booking.permit.id.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    label_width = 70
    for label, value in booking_lines(booking, lang):
        pdf.set_font("DejaVu", "", 11)
        pdf.cell(label_width, 7, label)
        pdf.set_font("DejaVu", "B", 11)
        pdf.multi_cell(0, 7, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(0, 5, _(SHOW_AT_GATE), new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5, _(NO_PERSONAL_DATA), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
