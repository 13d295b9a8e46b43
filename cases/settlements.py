"""The written settlement's reading side: its verification code, its content's hash, the kind of document and the
language it is printed in, and the public check of a code (what the verify page and its JSON twin show).

Writes (freezing, attesting) are in cases.services.settlements."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from config.degraded import outage
from config.errors import SulhError

from .models import Forum, Settlement

# Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand is hard to get wrong.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
# What a person may type for a letter Crockford's alphabet leaves out.
_CODE_READS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_NOT_CODE = re.compile(r"[\s\-_.]+")

# The document a forum hands the parties, by kind.
FAISLA = "faisla"
SULHNAMA = "sulhnama"
COMPROMISE_DEED = "compromise_deed"
DOCUMENT_KINDS = {Forum.Kind.JIRGA: FAISLA, Forum.Kind.SULHA: SULHNAMA, Forum.Kind.MUSLAHATHI: COMPROMISE_DEED}
DOCUMENT_TITLES = {
    FAISLA: _("Faisla (decision of the jirga)"),
    SULHNAMA: _("Sulhnama (deed of reconciliation)"),
    COMPROMISE_DEED: _("Compromise deed"),
}

# The language a settlement is printed in: the one the forum's parties read.
LANGUAGE_SULHA = "ar"
LANGUAGE_MUSLAHATHI = "ur"
LANGUAGE_JIRGA = {Forum.Country.AFGHANISTAN: "ps", Forum.Country.PAKISTAN: "ur"}
CONTENT_VERSION = 1

# The languages a settlement may be read aloud in: the pages' languages and the region's other spoken ones.
OTHER_LANGUAGES = {
    "pa": _("Punjabi"),
    "sd": _("Sindhi"),
    "bal": _("Balochi"),
    "skr": _("Saraiki"),
    "he": _("Hebrew"),
}
SPOKEN_LANGUAGES = [code for code, _name in settings.LANGUAGES] + list(OTHER_LANGUAGES)


def language_name(code: str) -> str:
    """The language's name in the active language."""
    return str(dict(settings.LANGUAGES).get(code) or OTHER_LANGUAGES.get(code) or code)


class VerifyThrottled(SulhError):
    status = 429
    code = "throttled"
    default_detail = _("Too many checks from your connection. Wait a minute and try again.")


def code_new() -> str:
    """A random code, not derived from the content: it says nothing about the settlement to whoever guesses."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_normalise(raw: str) -> str | None:
    """The stored form of a typed code (any case, with dashes or spaces, I/L for 1 and O for 0), or None."""
    code = _NOT_CODE.sub("", raw or "").upper().translate(_CODE_READS)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def code_display(code: str) -> str:
    """The code as printed: two groups of five."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def content_canonical(content: dict[str, Any]) -> bytes:
    """The one serialisation the hash is taken of: sorted keys, no spaces, UTF-8. Every value in the content is a
    string, an integer, null, a list or an object (amounts and dates are strings), so PostgreSQL's jsonb gives
    back exactly what was hashed."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(content_canonical(content)).hexdigest()


def document_kind(forum_kind: str) -> str:
    return DOCUMENT_KINDS.get(forum_kind, FAISLA)  # type: ignore[call-overload]  # a str is a Kind's value


def document_title(kind: str) -> str:
    return str(DOCUMENT_TITLES.get(kind, DOCUMENT_TITLES[FAISLA]))


def print_language(*, forum_kind: str, country: str) -> str:
    """Sulha → Arabic; Muslahathi → Urdu; jirga → Pashto in Afghanistan, Urdu in Pakistan (a KP jirga's faisla is
    written in Urdu, the language of the province's courts and police)."""
    if forum_kind == Forum.Kind.SULHA:
        return LANGUAGE_SULHA
    if forum_kind == Forum.Kind.MUSLAHATHI:
        return LANGUAGE_MUSLAHATHI
    return LANGUAGE_JIRGA.get(country, "ps")  # type: ignore[call-overload]  # a str is a Country's value


@dataclass(frozen=True)
class Verification:
    """What anyone holding the paper may learn: never a name, a term or a place finer than the district."""

    code: str
    genuine: bool
    forum: str
    forum_kind: str
    document: str
    district: str
    final_at: datetime | None
    status: str

    @property
    def document_title(self) -> str:
        return document_title(self.document)

    @property
    def status_label(self) -> str:
        return str(Settlement.Status(self.status).label) if self.status in Settlement.Status.values else self.status

    @property
    def code_display(self) -> str:
        return code_display(self.code)

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "genuine": self.genuine,
            "forum": self.forum,
            "forum_kind": self.forum_kind,
            "document": self.document,
            "document_title": self.document_title,
            "district": self.district,
            "final_at": self.final_at.isoformat() if self.final_at else None,
            "status": self.status,
        }


def settlement_verify(*, raw_code: str) -> Verification | None:
    """Check a typed code: None when no settlement has it. `genuine` is whether the stored content still hashes to
    the hash taken when it was frozen (a changed row, even with the trigger disabled, is found out). What is shown
    is read from the frozen content only when it is genuine; otherwise only the code and the verdict."""
    code = code_normalise(raw_code)
    if code is None:
        return None
    settlement = Settlement.objects.filter(code=code).only("code", "content", "sha256", "status").first()
    if settlement is None:
        return None
    content = settlement.content if isinstance(settlement.content, dict) else {}
    genuine = content_hash(content) == settlement.sha256
    if not genuine:
        return Verification(code, False, "", "", "", "", None, settlement.status)
    forum = content.get("forum") or {}
    final_at = parse_datetime(str((content.get("agreement") or {}).get("finalised_at") or ""))
    return Verification(
        code=code,
        genuine=True,
        forum=str(forum.get("name", "")),
        forum_kind=str(forum.get("kind", "")),
        document=str(content.get("document", "")),
        district=str(forum.get("district", "")),
        final_at=final_at,
        status=settlement.status,
    )


# Verify-page lookups per client address per minute: enough for a person typing a code, too few to walk the code
# space (32^10). Counted in the cache; a cache outage lets the request through (PITFALLS.md: fail open).
VERIFY_PER_MINUTE = 30


def verify_allowed(request: HttpRequest) -> bool:
    """Whether this client may look up another code this minute (the address as config.proxies resolved it)."""
    key = f"settlement-verify:{request.META.get('REMOTE_ADDR', '-')}:{int(timezone.now().timestamp() // 60)}"
    try:
        cache.add(key, 0, timeout=90)
        count = cache.incr(key)
    except Exception as error:  # noqa: BLE001 - the cache is down: verification must not go down with it
        outage("The settlement verification's cache", error, consequence="settlement verification is not throttled")
        return True
    return int(count) <= int(getattr(settings, "SETTLEMENT_VERIFY_PER_MINUTE", VERIFY_PER_MINUTE))
