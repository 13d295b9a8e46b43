"""The legal reviewer's page: the agreement terms the screening held, each with the practice it may be and the
law in the forum's country, and a decision (lawful or prohibited, with a note). The rules are the services'."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from config.errors import ForbiddenError, SulhError
from config.pages import first_error

from .. import selectors, services
from ..screening.law import law_for


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[
            ("lawful", gettext_lazy("Lawful: keep the term")),
            ("prohibited", gettext_lazy("Prohibited: take it out of the draft")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=gettext_lazy("Note (why)"), max_length=4000, required=False, widget=forms.Textarea)


@login_required
@require_GET
def screening_reviews(request: HttpRequest) -> HttpResponse:
    try:
        terms = list(selectors.screening_reviews_for_user(user=request.user))
    except ForbiddenError as error:
        raise PermissionDenied(error.detail) from None
    items = [
        {"term": term, "law": law_for(term.screening_practice, country=term.agreement.case.forum.country)}
        for term in terms
    ]
    return render(request, "cases/screening_reviews.html", {"items": items, "form": DecisionForm()})


@login_required
@require_POST
def screening_decide(request: HttpRequest, term_id: int) -> HttpResponse:
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect("screening-reviews")
    try:
        # login_required let only a logged-in user this far.
        kept = services.term_screening_decide(user=cast(User, request.user), term_id=term_id, **form.cleaned_data)
    except SulhError as error:
        if error.status == 404:
            raise Http404 from None
        if error.status == 403:  # Not a reviewer of the term's forum: refused, not redirected with a notice.
            return render(request, "errors/403.html", {"detail": error.detail}, status=403)
        messages.error(request, error.detail)
        return redirect("screening-reviews")
    if kept is None:
        messages.success(request, _("The term was found prohibited and left the draft; the case's timeline says so."))
    else:
        messages.success(request, _("The term was found lawful and stays in the draft."))
    return redirect("screening-reviews")
