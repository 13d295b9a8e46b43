"""The account's own pages: logging in (with a second step for a one-time code), the account page (two-factor
authentication, API tokens, the password). They call accounts.services; the rules live there."""

from __future__ import annotations

import base64
import time
from typing import Any

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from config.errors import SulhError

from . import services
from .models import gender_choices

# The password step's result, kept in the (still anonymous) session until the code step: who, through which
# authentication backend, where to go next, and when (the code step must follow within PENDING_SECONDS).
PENDING = "_sulh_otp_pending"
PENDING_SECONDS = 300


class CodeForm(forms.Form):
    otp = forms.RegexField(
        regex=r"^\s*\d{3}\s?\d{3}\s*$",
        label=gettext_lazy("Code from your authenticator app"),
        error_messages={"invalid": gettext_lazy("Enter the six digits your authenticator app shows.")},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autocapitalize": "none", "size": 8}
        ),
    )


class LoginView(auth_views.LoginView):
    """Django's login, with a second step for an account that has enrolled in two-factor authentication: the
    user is logged in only once the code is right."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if services.totp_device(user=user) is None:
            return super().form_valid(form)
        self.request.session[PENDING] = {
            "user": user.pk,
            "backend": user.backend,
            "next": self.get_success_url(),
            "at": time.time(),
        }
        return redirect("login-otp")


@require_http_methods(["GET", "POST"])
def login_otp(request: HttpRequest) -> HttpResponse:
    """The login's second step: the code of the authenticator app."""
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        messages.info(request, _("Enter your username and password again."))
        return redirect("login")
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        request.session.pop(PENDING, None)
        return redirect("login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.totp_verify(user=user, code=form.cleaned_data["otp"])
        except SulhError as exc:
            form.add_error("otp", exc.detail)
        else:
            del request.session[PENDING]
            auth_login(request, user, backend=pending["backend"])
            otp_login(request, device)
            target = pending["next"]
            if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
                target = reverse_lazy("home")
            return redirect(target)
    return render(request, "registration/login_otp.html", {"form": form})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """The user's own page: two-factor authentication, their API tokens, and a link to change the password."""
    context = {
        "device": services.totp_device(user=request.user),
        "required": services.two_factor_required(user=request.user),  # type: ignore[arg-type]
        "tokens": services.tokens_of(user=request.user),  # type: ignore[arg-type]
        "gender": services.gender_of(user=request.user),
        "genders": gender_choices(),
    }
    return render(request, "accounts/account.html", context)


@login_required
@require_POST
def gender_declare(request: HttpRequest) -> HttpResponse:
    """The user's own, optional gender: counted without their name in the sessions they attend as staff."""
    try:
        services.gender_declare(user=request.user, gender=request.POST.get("gender", ""))
    except SulhError as error:
        messages.error(request, str(error.detail))
        return redirect("account")
    messages.success(request, _("Saved."))
    return redirect("account")


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """Set up (or replace) the authenticator app: scan the QR code or type the secret, then confirm with a code."""
    user = request.user
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.totp_enrol_confirm(user=user, code=form.cleaned_data["otp"])  # type: ignore[arg-type]
        except SulhError as exc:
            form.add_error("otp", exc.detail)
        else:
            otp_login(request, device)
            messages.success(request, _("Two-factor authentication is on. You will be asked for a code at login."))
            return redirect("account")
    pending = services.totp_enrol_pending(user=user) or services.totp_enrol_start(user=user)  # type: ignore[arg-type]
    context = {
        "form": form,
        "device": services.totp_device(user=user),
        "qr": segno.make(pending.config_url, error="m").svg_inline(scale=5, border=2),
        "secret": base64.b32encode(pending.bin_key).decode(),
    }
    return render(request, "accounts/two_factor.html", context)


@login_required
@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the six digits your authenticator app shows."))
        return redirect("account")
    try:
        services.totp_disable(user=request.user, code=form.cleaned_data["otp"])  # type: ignore[arg-type]
    except SulhError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Two-factor authentication is off."))
    return redirect("account")


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        services.token_revoke_one(user=request.user, token_id=token_id)  # type: ignore[arg-type]
    except SulhError:
        raise Http404 from None
    messages.success(request, _("The token was revoked."))
    return redirect("account")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's own (the validators of AUTH_PASSWORD_VALIDATORS apply; the other sessions of the user end), and
    the user's API tokens are revoked too: a password changed because it leaked leaves nothing working that was
    obtained with it."""

    template_name = "registration/password_change.html"
    success_url = reverse_lazy("account")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.token_revoke(user=form.user)
        messages.success(self.request, _("Your password was changed."))
        return response


def admin_login(request: HttpRequest) -> HttpResponseBase:
    """The admin logs in through the site's login, so that the second step applies there too. Someone logged in
    but not staff is refused here (sending them to the login would bring them straight back: a loop)."""
    if request.user.is_authenticated:
        raise PermissionDenied
    query = request.META.get("QUERY_STRING", "")
    return redirect(str(reverse_lazy("login")) + (f"?{query}" if query else ""))
