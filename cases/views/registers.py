"""The paper register page of a forum: upload a register (CSV or XLSX), read the dry run's report in one's own
language, then confirm the import; and download the forum's cases as a register. For the forum's facilitators
and administrators (the services check it again).

The uploaded file waits on the server between the dry run and the confirmation, in a private temporary folder
under a random token that only the uploader's session knows; the import checks the file again (the forum may
have changed in between) and deletes it. Files left behind (a dry run never confirmed) are swept after a day."""

from __future__ import annotations

import io
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit import services as audit
from config.errors import SulhError

from .. import registers, selectors, services
from .. import rules as case_rules
from ..models import Forum

MAX_UPLOAD = 20 * 1024 * 1024  # Bytes: tens of thousands of rows; a larger file goes through the command.
PROBLEMS_SHOWN = 500  # A page lists this many problems at most, then says how many more there are.
KEEP_UPLOADS = 24 * 3600  # Seconds an unconfirmed upload is kept.
SESSION_KEY = "register_uploads"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class RegisterUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Register file (CSV in UTF-8, or XLSX)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(
                _("The file is larger than %(size)s MB: split it, or ask an administrator to run import_register.")
                % {"size": MAX_UPLOAD // (1024 * 1024)}
            )
        return upload


def _upload_dir() -> Path:
    folder = Path(tempfile.gettempdir()) / "sulh-registers"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _sweep(folder: Path) -> None:
    cutoff = time.time() - KEEP_UPLOADS
    for old in folder.glob("*.upload"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass  # Another process swept it first.


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # login_required let only a logged-in user this far.


def _managed_forum(request: HttpRequest, forum_id: int) -> Forum:
    """The forum, for its facilitators and administrators: 404 outside the user's forums, 403 for its monitors."""
    forum = selectors.forum_get_for_user(user=request.user, forum_id=forum_id)
    if forum is None:
        raise Http404
    if not case_rules.can_manage_forum_cases(request.user, forum):
        raise PermissionDenied(_("Only the forum's facilitators may do this."))
    return forum


def _page(request: HttpRequest, forum: Forum, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("form", RegisterUploadForm())
    problems = context.get("problems") or []
    context.update(
        forum=forum,
        problems_shown=problems[:PROBLEMS_SHOWN],
        problems_more=max(0, len(problems) - PROBLEMS_SHOWN),
        required_columns=registers.REQUIRED_COLUMNS,
        optional_columns=registers.OPTIONAL_COLUMNS,
    )
    return render(request, "cases/register_import.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def register_upload(request: HttpRequest, forum_id: int) -> HttpResponse:
    """GET: the form. POST: the file checked (the dry run), kept under a token until confirmed."""
    forum = _managed_forum(request, forum_id)
    if request.method == "GET":
        return _page(request, forum)
    form = RegisterUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, forum, 400, form=form)
    data = form.cleaned_data["file"].read()
    try:
        checked = registers.check_register(forum_kind=forum.kind, data=data)
        preview = services.register_preview(user=_user(request), forum=forum, rows=checked.rows)
    except SulhError as exc:
        return _page(request, forum, exc.status, form=form, error=exc.detail)
    token = ""
    if preview.imported:
        folder = _upload_dir()
        _sweep(folder)
        token = secrets.token_urlsafe(24)
        (folder / f"{token}.upload").write_bytes(data)
        uploads = request.session.get(SESSION_KEY, {})
        uploads[token] = {"forum": forum.pk, "name": form.cleaned_data["file"].name[:200]}
        request.session[SESSION_KEY] = uploads
    return _page(
        request,
        forum,
        checked=True,
        token=token,
        file_name=form.cleaned_data["file"].name,
        would_import=preview.imported,
        already=preview.already,
        rejected=checked.rejected,
        problems=checked.problems,
    )


@login_required
@require_POST
def register_confirm(request: HttpRequest, forum_id: int) -> HttpResponse:
    """Import the file checked before, by its token."""
    forum = _managed_forum(request, forum_id)
    token = request.POST.get("token", "")
    uploads = request.session.get(SESSION_KEY, {})
    entry = uploads.get(token) if TOKEN.match(token) else None
    path = _upload_dir() / f"{token}.upload"
    if entry is None or entry.get("forum") != forum.pk or not path.exists():
        return _page(
            request,
            forum,
            400,
            error=_("That upload is no longer waiting (it was imported, or is too old): upload it again."),
        )
    try:
        checked = registers.check_register(forum_kind=forum.kind, data=path.read_bytes())
        result = services.register_import(user=_user(request), forum=forum, rows=checked.rows)
    except SulhError as exc:
        return _page(request, forum, exc.status, error=exc.detail)
    path.unlink(missing_ok=True)
    uploads.pop(token, None)
    request.session[SESSION_KEY] = uploads
    return _page(
        request,
        forum,
        done=True,
        file_name=entry.get("name", ""),
        imported=result.imported,
        already=result.already,
        rejected=checked.rejected,
        problems=checked.problems,
    )


@login_required
@require_GET
def register_export(request: HttpRequest, forum_id: int, fmt: str) -> HttpResponse:
    """The forum's cases as a register file (names included: it is the forum's own register)."""
    forum = _managed_forum(request, forum_id)
    rows = registers.export_rows(forum=forum)
    # An export with the parties' names: one read in the read log (audit), of the forum's register as a whole.
    audit.read_record(
        user=request.user, kind=audit.Kind.EXPORT, object_id=forum.pk, request=request, door=audit.Door.PAGE
    )
    stamp = timezone.localdate().isoformat()
    if fmt == "xlsx":
        binary = io.BytesIO()
        registers.write_xlsx(rows, binary)
        response = HttpResponse(
            binary.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    else:
        text = io.StringIO()
        registers.write_csv(rows, text)
        response = HttpResponse(text.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="register-{forum.pk}-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response
