"""The written settlement's pages: the printable settlement for the forum's staff, the attestation form's action on
the case page, and the public verify page (no login) where anyone holding the paper checks its code."""

from __future__ import annotations

import datetime as dt
from typing import Any

import segno
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from audit import services as audit
from config.errors import SulhError

from .. import rules as case_rules
from .. import services
from .. import settlements as docs
from ..forms import AttestationForm
from ..models import (
    Agreement,
    CaseParty,
    Deposit,
    DisputeType,
    Forum,
    GuaranteeSide,
    OffenceClass,
    Settlement,
    Term,
)
from .actions import _case_action, _in_section
from .pages import case_or_404


def verify_url(request: HttpRequest, settlement: Settlement) -> str:
    return request.build_absolute_uri(reverse("settlement-verify", kwargs={"code": settlement.code}))


def qr_svg(url: str) -> str:
    """The verify URL as an inline SVG QR code (segno: pure Python, no system library)."""
    qr = segno.make(url, error="m")
    # A viewBox rather than a fixed size: the print CSS sizes it (about 2.5 cm on A4).
    return qr.svg_inline(
        scale=3, border=2, dark="#000", light="#fff", omitsize=True, title=_("QR code: %(url)s") % {"url": url}
    )


def _choice_label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _document(settlement: Settlement) -> dict[str, Any]:
    """The frozen content, with its choices' labels in the active language, as the template shows it."""
    content = settlement.content if isinstance(settlement.content, dict) else {}
    forum = content.get("forum") or {}
    case = content.get("case") or {}
    agreement = content.get("agreement") or {}
    parties = [
        {**p, "role_label": _choice_label(CaseParty.Role, str(p.get("role", "")))} for p in content.get("parties") or []
    ]
    terms = [{**t, "kind_label": _choice_label(Term.Kind, str(t.get("kind", "")))} for t in content.get("terms") or []]
    signing = [p for p in parties if p.get("role") in ("first_party", "second_party", "victim", "representative")]
    return {
        "kind": content.get("document", docs.FAISLA),
        "title": docs.document_title(str(content.get("document", docs.FAISLA))),
        "forum": forum,
        "forum_kind_label": _choice_label(Forum.Kind, str(forum.get("kind", ""))),
        "case": case,
        "dispute_label": _choice_label(DisputeType, str(case.get("dispute_type", ""))),
        "offence_label": _choice_label(OffenceClass, str(case.get("offence_class", ""))),
        "agreement": agreement,
        "final_at": _parse(agreement.get("finalised_at")),
        "opened_on": _parse_date(case.get("opened_on")),
        "parties": parties,
        "signing": signing,
        "complainants": [p for p in parties if p.get("role") in ("first_party", "victim")],
        "accused": [p for p in parties if p.get("role") == "second_party"],
        "guarantors": [
            {**g, "side_label": _choice_label(GuaranteeSide, str(g.get("stands_for", "")))}
            for g in content.get("guarantors") or []
        ],
        "deposits": [
            {
                **d,
                "kind_label": _choice_label(Deposit.Kind, str(d.get("kind", ""))),
                "side_label": _choice_label(GuaranteeSide, str(d.get("deposited_by", ""))),
                "received": _parse_date(d.get("received_on")),
            }
            for d in content.get("deposits") or []
        ],
        "terms": terms,
        "guarantee_terms": [t for t in terms if t.get("kind") == "guarantee"],
    }


def _parse(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _parse_date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@login_required
@require_GET
def settlement_print(request: HttpRequest, case_id: int) -> HttpResponse:
    """The printable settlement, in the forum's language (or `?lang=` one of the site's), for the forum's staff."""
    case = case_or_404(request, case_id)
    agreement = Agreement.objects.filter(case=case).first()
    settlement = services.settlement_ensure(agreement=agreement) if agreement is not None else None
    if settlement is None:
        raise Http404
    audit.read_record(
        user=request.user, kind=audit.Kind.SETTLEMENT, case_id=case.pk, object_id=settlement.pk, request=request,
        door=audit.Door.PAGE,
    )  # fmt: skip
    languages = [code for code, _name in settings.LANGUAGES]
    language = request.GET.get("lang", "")
    if language not in languages:
        language = docs.print_language(forum_kind=case.kind, country=case.forum.country)
    url = verify_url(request, settlement)
    with translation.override(language):
        context = {
            "case": case,
            "settlement": settlement,
            "doc": _document(settlement),
            "genuine": docs.content_hash(settlement.content) == settlement.sha256,
            "code": docs.code_display(settlement.code),
            "verify_url": url,
            "verify_home": request.build_absolute_uri(reverse("settlement-verify-home")),
            # segno writes the SVG itself from the URL: nothing in it comes from a user.
            "qr": mark_safe(qr_svg(url)),  # noqa: S308
            "attestations": [
                {
                    "read_to": a.read_to,
                    "language": docs.language_name(a.language),
                    "read_on": a.read_on,
                    "witnesses": a.witnesses,
                }
                for a in settlement.attestations.all()
            ],
            "language": language,
            "languages": settings.LANGUAGES,
        }
        response = render(request, "cases/settlement_print.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def settlement_attest(request: HttpRequest, case_id: int) -> HttpResponse:
    # Refused before the form is read, so that a caller who may not attest learns nothing from a 400. The service
    # checks the same rule again (it is the one every door goes through).
    case = case_or_404(request, case_id)
    if not case_rules.is_forum_facilitator(request.user, case.forum):
        raise PermissionDenied
    form = AttestationForm(request.POST)

    def run(case: Any, data: dict) -> str:
        services.settlement_attest(
            user=request.user,
            case_id=case.pk,
            read_to=data["read_to"],
            language=data["language"],
            witnesses=form.witness_names(),
            read_on=data["read_on"],
        )
        return _("Recorded that the settlement was read aloud.")

    def refusal(error: SulhError) -> dict:
        context = _in_section("settlement")(error)
        context["settlement_form"] = form
        return context

    return _case_action(request, case_id, form=form, run=run, refusal=refusal)


def _verify_page(request: HttpRequest, *, code: str = "", result: Any = None, status: int = 200) -> HttpResponse:
    context = {"code": code, "result": result, "throttled": status == 429}
    response = render(request, "cases/settlement_verify.html", context, status=status)
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@never_cache
@require_GET
def settlement_verify(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """Public: is the settlement with this code genuine and unchanged? Forum, kind of document, date, district and
    status only. `/verify/?code=…` (the form) goes to `/verify/<code>/`, the address the QR code holds."""
    if code is None:
        typed = request.GET.get("code", "")
        if not typed:
            return _verify_page(request)
        normal = docs.code_normalise(typed)
        if normal is not None:
            return redirect("settlement-verify", code=normal)
        return _verify_page(request, code=typed[:40], status=404)
    if not docs.verify_allowed(request):
        page = _verify_page(request, code=code[:40], status=429)
        page["Retry-After"] = "60"
        return page
    result = docs.settlement_verify(raw_code=code)
    if result is None:
        return _verify_page(request, code=code[:40], status=404)
    return _verify_page(request, code=result.code_display, result=result)
