"""What every app's server-rendered pages share, and nothing of the domain: a page or its HTMX fragment from one
URL, and refusals and form errors put into a sentence a person can act on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from .errors import SulhError

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails


def wants_fragment(request: HttpRequest) -> bool:
    """An HTMX request that swaps part of the page (a history restore needs the whole page)."""
    # django-htmx's middleware sets it on every request; a request that did not pass through it has none.
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    if htmx is None:
        return False
    return bool(htmx) and not htmx.history_restore_request and not htmx.boosted


def render_page(
    request: HttpRequest, full: str, fragment: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    response = render(request, fragment if wants_fragment(request) else full, context, status=status)
    # The same URL answers a page or a fragment: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


def refusal_text(exc: SulhError) -> str:
    """The refusal and what it says about each field, as one sentence a person can act on."""
    parts = [exc.detail]
    for problems in (exc.fields or {}).values():
        for problem in problems if isinstance(problems, list) else [problems]:
            if isinstance(problem, str | Promise) and str(problem) not in parts:
                parts.append(str(problem))
    return " ".join(parts)


def first_error(form: forms.BaseForm) -> str:
    for errors in form.errors.values():
        if errors:
            return str(errors[0])
    return _("The request could not be understood.")
