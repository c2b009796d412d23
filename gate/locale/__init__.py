"""The gate's texts for people (the ranger page, reason texts) in kk/ru/en gettext catalogues.

The catalogues are ``gate/locale/<lang>.po``, read with Babel when first asked for (no compile step, so a
technician can fix a word on the gate). The message ids are the English texts; ``en.po`` lists them all
and is the template the other two follow. The gate never imports the server: it has its own catalogues.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

from gate.errors import GateError
from protocol import CardRole, Reason

LANGUAGES = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "kk"
_HERE = Path(__file__).parent

# English reason texts: the msgids of the reason codes (DESIGN.md, "Reason codes")
REASON_TEXTS: dict[Reason, str] = {
    Reason.GRANTED: "Granted",
    Reason.GRANTED_UNLISTED: "Granted (permit not yet in the gate's list)",
    Reason.MALFORMED: "Not a permit code",
    Reason.BAD_SIGNATURE: "Forged or damaged permit: the signature does not match",
    Reason.UNKNOWN_KEY: "Permit signed with an unknown key",
    Reason.NOT_YET_VALID: "Permit not valid yet",
    Reason.EXPIRED: "Permit expired",
    Reason.WRONG_PARK: "Permit is for another park",
    Reason.REVOKED: "Permit or card revoked",
    Reason.ALREADY_INSIDE: "Already inside: no exit recorded",
    Reason.ENTRIES_USED: "Today's entries are used up",
    Reason.CAPACITY_FULL: "The park is full",
    Reason.UNKNOWN_CARD: "Unknown card",
    Reason.UNKNOWN_PLATE: "Unknown plate",
    Reason.PLATE_MISMATCH: "Permit is for another vehicle",
    Reason.MANUAL: "Opened by a ranger",
}

# English card role names (protocol.CardRole): who a tapped card belongs to, on the ranger page's feed
ROLE_TEXTS: dict[CardRole, str] = {
    CardRole.RANGER: "Ranger",
    CardRole.STAFF: "Staff",
    CardRole.GUIDE: "Guide",
    CardRole.RESIDENT: "Resident",
}


class CatalogueError(GateError):
    """A catalogue file is missing or cannot be read."""


@lru_cache(maxsize=len(LANGUAGES))
def messages(lang: str) -> dict[str, str]:
    """msgid → translated text of one language (untranslated entries are left out)."""
    if lang not in LANGUAGES:
        raise CatalogueError(f"no catalogue for language {lang!r}; have {', '.join(LANGUAGES)}")
    path = _HERE / f"{lang}.po"
    try:
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
    except (OSError, ValueError) as err:
        raise CatalogueError(f"cannot read {path}: {err}") from err
    return {str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.string, str) and m.string}


def translator(lang: str) -> Callable[[str], str]:
    """``_`` for one language: the catalogue's text, or the English msgid when it has none."""
    table = messages(lang)
    return lambda text: table.get(text, text)


def reason_text(reason: Reason, lang: str) -> str:
    """The reason code's text for people, in ``lang``."""
    return translator(lang)(REASON_TEXTS[reason])


def role_text(role: CardRole, lang: str) -> str:
    """A card role's name for people, in ``lang``."""
    return translator(lang)(ROLE_TEXTS[role])


def pick_language(accept_language: str | None, chosen: str | None = None) -> str:
    """The language to answer in: the one the person chose, else the best of Accept-Language, else kk."""
    if chosen in LANGUAGES:
        assert chosen is not None
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE
