"""The read log's pages for administrators: one case's readers and one user's reads, newest first, 50 a page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from config.errors import NotFoundError, SulhError

from . import selectors

READS_PER_PAGE = 50


def _log_page(request: HttpRequest, *, case_id: int | None = None, user_id: int | None = None) -> HttpResponse:
    try:
        log = selectors.read_log(viewer=request.user, case_id=case_id, user_id=user_id)
    except NotFoundError:
        raise Http404 from None
    except SulhError as exc:
        return render(request, "errors/403.html", {"detail": exc.detail}, status=exc.status)
    page = Paginator(log.reads, READS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "audit/read_log.html", {"log_case": log.case, "log_user": log.user, "page": page})


@login_required
@require_GET
def case_log(request: HttpRequest, case_id: int) -> HttpResponse:
    return _log_page(request, case_id=case_id)


@login_required
@require_GET
def user_log(request: HttpRequest, user_id: int) -> HttpResponse:
    return _log_page(request, user_id=user_id)
