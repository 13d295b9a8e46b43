"""The monitor's "Checks due" page, its form posts and its service worker."""

from __future__ import annotations

import hashlib
import json
import os
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from audit import services as audit
from config.errors import SulhError
from config.pages import first_error, refusal_text

from .. import selectors, services
from ..forms import (
    ComplianceCheckForm,
)
from ..models import ComplianceCheck, DueItem, Term

# --- The monitor's "Checks due" page -------------------------------------------------------------
# Field monitors record compliance checks from villages without signal. The page works without JavaScript
# (each term's form posts to monitor_check and comes back, post/redirect/get); with it, static/js/monitor.js
# keeps each check in an IndexedDB outbox and uploads it to the API when it can, and a service worker
# (monitor_service_worker) keeps the page itself for when the phone is offline.

# What the page needs offline, fetched by the service worker when it installs (fonts are added by the page
# once it knows which ones the reader's language loaded).
MONITOR_PRECACHE = (
    "css/sulh.css",
    "vendor/htmx/htmx.min.js",
    # The page's ES module and every module it imports (see the import map in cases/monitor.html).
    "js/monitor.js",
    "js/common.js",
    "js/monitor/outbox.js",
    "vendor/idb-keyval/index.js",
)
# The Workbox modules the service worker uses, vendored from npm into static/vendor/workbox/.
WORKBOX_MODULES = ("workbox-core", "workbox-routing", "workbox-strategies", "workbox-expiration")


def monitor_strings() -> dict[str, object]:
    """What static/js/monitor.js writes on the page, translated here. `%(name)s` placeholders are filled in
    by the script."""
    return {
        "online": _("Online"),
        "offline": _("Offline: the checks you record are kept on this phone and uploaded when the connection returns."),
        "unreachable": _("The server cannot be reached: the checks you record are kept on this phone."),
        "waiting": _("Waiting to upload (%(count)s)"),
        "saved": _("Saved on this phone. It will be uploaded as soon as the server can be reached."),
        "stored": _("Stored"),
        "sending": _("Sending to the server…"),
        "stored_notice": _("Stored on the server."),
        "refused": _("Refused: %(detail)s"),
        "refused_unknown": _("The server refused this check."),
        "login": _("Your login has expired: log in again to upload the waiting checks."),
        "discard": _("Discard"),
        "observed": _("seen %(time)s"),
        "paid": _("paid %(amount)s"),
        "statuses": {value: str(label) for value, label in ComplianceCheck.Status.choices},
    }


def _monitor_context(request: HttpRequest, *, refused: dict | None = None) -> dict:
    today = timezone.localdate()
    cases = selectors.monitor_cases_for_user(user=request.user, today=today)
    for entry in cases:
        for row in entry["terms"]:
            # Made at render: the form sent twice (a double tap, a browser's retry) records one check.
            row["key"] = uuid.uuid4()
            row["is_compensation"] = row["term"].kind == Term.Kind.COMPENSATION
            row["latest_label"] = ComplianceCheck.Status(row["latest"]).label if row["latest"] else ""
            if refused and refused.get("term") == row["term"].pk:
                row["refused"] = refused
    items = list(selectors.due_items_for_user(user=request.user, today=today))
    instalments = [item for item in items if item.kind == DueItem.Kind.INSTALMENT]
    return {
        "today": today,
        "rendered_at": timezone.now(),
        "cases": cases,
        "overdue_instalments": [item for item in instalments if item.due_on < today],
        "due_this_week": [
            item
            for item in items
            if item.kind == DueItem.Kind.CHECK or (item.kind == DueItem.Kind.INSTALMENT and item.due_on >= today)
        ],
        "truces": [item for item in items if item.kind == DueItem.Kind.TRUCE],
        "due_count": len(items),
        "statuses": ComplianceCheck.Status.choices,
        "refused": refused,
        "refused_elsewhere": bool(refused) and not any(row.get("refused") for entry in cases for row in entry["terms"]),
        "monitor_strings": monitor_strings(),
    }


def _monitor_refused_page(request: HttpRequest) -> HttpResponse:
    detail = _("This page is for the forums' monitors and facilitators.")
    return render(request, "errors/403.html", {"detail": detail}, status=403)


@login_required
@require_GET
@never_cache
def monitor_due(request):
    """The checks due this week and every term of the agreements the user follows, each with a form."""
    if not selectors.monitor_page_allowed(user=request.user):
        return _monitor_refused_page(request)
    # The agreements' terms of every case the user follows: one read of the list (audit), not one per case.
    audit.read_record(user=request.user, kind=audit.Kind.CASE_LIST, request=request, door=audit.Door.PAGE)
    return render(request, "cases/monitor.html", _monitor_context(request))


@login_required
@require_POST
def monitor_check(request):
    """One term's check from the page without JavaScript; the page with JavaScript uses the API instead."""
    if not selectors.monitor_page_allowed(user=request.user):
        return _monitor_refused_page(request)
    form = ComplianceCheckForm(request.POST)
    if not form.is_valid():
        refused = {
            "term": form.cleaned_data.get("term"),
            "message": first_error(form),
            "values": request.POST.dict(),
        }
        return render(request, "cases/monitor.html", _monitor_context(request, refused=refused), status=400)
    data = form.cleaned_data
    try:
        check, created = services.compliance_record(
            user=request.user,
            case_id=data["case"],
            term_id=data["term"],
            status=data["status"],
            idempotency_key=data["idempotency_key"],
            notes=data["notes"],
            paid=data["paid"],
        )
    except SulhError as exc:
        if exc.status == 404:
            raise Http404 from None
        refused = {"term": data["term"], "message": refusal_text(exc), "values": request.POST.dict()}
        return render(request, "cases/monitor.html", _monitor_context(request, refused=refused), status=exc.status)
    if created:
        messages.success(
            request,
            _("Check recorded: %(reference)s, %(term)s — %(status)s.")
            % {
                "reference": check.case.reference,
                "term": check.term.get_kind_display(),
                "status": check.get_status_display(),
            },
        )
    else:
        messages.info(request, _("This check was already recorded; nothing was added."))
    return redirect(reverse("monitor-due") + f"#term-{check.term_id}")


@require_GET
def monitor_service_worker(request):
    """The service worker of the "Checks due" page, written with the static files' URLs as the storage names
    them (hashed in production), so that it precaches and imports Workbox from this server, never a CDN."""
    precache = [static(path) for path in MONITOR_PRECACHE]
    modules = {name: static(f"vendor/workbox/{name}.prod.js") for name in WORKBOX_MODULES}
    # The caches are named after what they hold: a change to any file (its hashed name in production, its
    # size and time in development) starts fresh caches, and the old ones are dropped.
    fingerprint = hashlib.sha256()
    for path in (*MONITOR_PRECACHE, *(f"vendor/workbox/{name}.prod.js" for name in WORKBOX_MODULES)):
        fingerprint.update(static(path).encode())
        found = finders.find(path)
        if found:
            stat = os.stat(found)
            fingerprint.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    config = {
        "version": fingerprint.hexdigest()[:12],
        "page": reverse("monitor-due"),
        "dueApi": reverse("api-monitor-due"),
        "staticPrefix": settings.STATIC_URL,
        "precache": precache,
        "workbox": static("vendor/workbox/workbox-sw.js"),
        "modules": modules,
    }
    script = render_to_string("cases/monitor_sw.js", {"config": json.dumps(config)})
    response = HttpResponse(script, content_type="application/javascript; charset=utf-8")
    # The script sits under /monitor/ already; the header says so explicitly for the registration's scope.
    response["Service-Worker-Allowed"] = reverse("monitor-due")
    # Browsers check for a new worker on navigations; a cached copy of the script would delay every fix.
    add_never_cache_headers(response)
    return response
