"""Pages of live dialogue sessions: the room, the printable transcript, the invitation link, and scheduling
from the case page. Every rule is the services'; these only translate between forms and them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.errors import NotFoundError, SulhError

from . import selectors, services
from .forms import InvitationForm, SessionScheduleForm
from .models import DialogueSession, Participant


def room_strings() -> dict[str, str]:
    """What the room's script writes on the page, translated here (static/js/room.js reads them)."""
    return {
        "connected": _("Connected"),
        "connecting": _("Connecting…"),
        "reconnecting": _("Connection lost. Reconnecting…"),
        "nobody_has_floor": _("Nobody has the floor."),
        "has_the_floor": _("%(name)s has the floor."),
        "you_have_the_floor": _("You have the floor."),
        "give_floor": _("Give the floor"),
        "take_floor_back": _("Take the floor back"),
        "present": _("here"),
        "away": _("away"),
        "hand_raised": _("hand raised"),
        "agree": _("Agree"),
        "stand_aside": _("Stand aside"),
        "block": _("Block"),
        "accepted": _("Accepted: now a draft term of the agreement."),
        "blocked": _("Blocked."),
        "waiting_to_send": _("Waiting to send…"),
        "done": _("Done"),
        "session_not_live": _("The session is not live."),
        "forbidden": _("You may not do that now."),
        "error": _("Something went wrong. Try again."),
    }


def _session_or_404(request, session_id: int) -> DialogueSession:
    try:
        return selectors.session_get_for_attendee(user=request.user, session_id=session_id)
    except NotFoundError:
        raise Http404 from None


@login_required
@require_GET
def session_room(request, session_id: int):
    session = _session_or_404(request, session_id)
    is_facilitator = session.facilitator_id == request.user.pk
    return render(
        request,
        "deliberation/room.html",
        {
            "session": session,
            "is_facilitator": is_facilitator,
            "invitation_form": InvitationForm() if is_facilitator else None,
            "ws_path": f"/ws/sessions/{session.pk}/",
            "room_strings": room_strings(),
        },
    )


@login_required
@require_GET
def session_transcript(request, session_id: int):
    session = _session_or_404(request, session_id)
    names = dict(Participant.objects.filter(session=session).values_list("id", "display_name"))
    events = selectors.transcript(session=session)
    for event in events:
        event["actor_name"] = names.get(event["actor"], "")
    return render(request, "deliberation/transcript.html", {"session": session, "events": events})


@login_required
@require_POST
def session_schedule(request, case_id: int):
    form = SessionScheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the date and time of the session."))
        return redirect("case-detail", case_id=case_id)
    try:
        session = services.session_schedule(
            user=request.user, case_id=case_id, scheduled_for=form.cleaned_data["scheduled_for"]
        )
    except NotFoundError:
        raise Http404 from None
    except SulhError as error:
        messages.error(request, str(error.detail))
        return redirect("case-detail", case_id=case_id)
    messages.success(request, _("Session scheduled."))
    return redirect("session-room", session_id=session.pk)


@login_required
@require_POST
def session_control(request, session_id: int, action: str):
    """Start or end the session from the room (its facilitator)."""
    _session_or_404(request, session_id)
    service = {"start": services.session_start, "end": services.session_end}.get(action)
    if service is None:
        raise Http404
    try:
        service(user=request.user, session_id=session_id)
    except SulhError as error:
        if error.status == 404:
            raise Http404 from None
        messages.error(request, str(error.detail))
    return redirect("session-room", session_id=session_id)


@login_required
@require_POST
def session_invite(request, session_id: int):
    session = _session_or_404(request, session_id)
    form = InvitationForm(request.POST)
    link = None
    if form.is_valid():
        try:
            _invitation, token = services.invitation_create(
                user=request.user, session_id=session.pk, display_name=form.cleaned_data["name"],
                role=form.cleaned_data["role"], priority=form.cleaned_data["priority"],
            )  # fmt: skip
            link = request.build_absolute_uri(f"/join/{token}/")
        except SulhError as error:
            if error.status == 404:
                raise Http404 from None
            form.add_error(None, str(error.detail))
    status = 200 if link else 400
    return render(request, "deliberation/invitation.html", {"session": session, "form": form, "link": link},
                  status=status)  # fmt: skip


@require_http_methods(["GET", "POST"])
def session_join(request, token: str):
    """A one-time link. Opening it only shows a button: link previews must not use it up."""
    if request.method == "POST":
        try:
            guest, session = services.invitation_redeem(token=token)
        except SulhError as error:
            return render(request, "deliberation/join.html", {"invalid": True, "detail": error.detail}, status=404)
        login(request, guest, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("session-room", session_id=session.pk)
    return render(request, "deliberation/join.html", {"invalid": False})
