"""Pages of live dialogue sessions: the room, the printable transcript, the invitation link, and scheduling
from the case page. Every rule is the services'; these only translate between forms and them."""

from __future__ import annotations

from urllib.parse import quote

import segno
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit import services as audit
from cases import rules as case_rules
from cases.models import Term
from config.errors import NotFoundError, SulhError

from . import rules, selectors, services
from .forms import InvitationForm, SessionScheduleForm
from .models import DialogueSession, Participant, Side


def room_strings() -> dict[str, str]:
    """What the room's script writes on the page, translated here (static/js/room/ reads them). `%(name)s`
    placeholders are filled in by the script."""
    strings = {
        # The connection (#connection).
        "connected": _("Connected"),
        "connecting": _("Connecting…"),
        "reconnecting": _("Connection lost. Reconnecting…"),
        "logged_out": _("You have been logged out. Reload the page to log in again."),
        "revoked": _("You no longer have access to this session: it has ended, or your role in the forum changed."),
        # The session's status.
        "status_scheduled": DialogueSession.Status.SCHEDULED.label,
        "status_live": DialogueSession.Status.LIVE.label,
        "status_ended": DialogueSession.Status.ENDED.label,
        # The floor and the queue.
        "nobody_has_floor": _("Nobody has the floor."),
        "has_the_floor": _("%(name)s has the floor."),
        "you_have_the_floor": _("You have the floor."),
        "time_left": _("%(time)s left"),
        "time_up": _("Time is up."),
        "give_floor": _("Give the floor"),
        "take_floor_back": _("Take the floor back"),
        "queue_empty": _("No hands raised."),
        "only_floor_speaks": _("Only the person with the floor speaks now. Raise your hand to ask for it."),
        # People.
        "present": _("here"),
        "away": _("away"),
        "you": _("(you)"),
        "someone": _("Someone"),
        "hand_raised": _("hand raised"),
        "priority": _("victim or woman"),
        # Proposals.
        # Plain words for an elder on the buttons; the formal terms of consensus are their help (the protocol's
        # values stay agree / stand_aside / block).
        "agree": _("I agree"),
        "stand_aside": _("I will not stand in the way"),
        "block": _("I object"),
        "term_agree": _("Formal term: agree"),
        "term_stand_aside": _("Formal term: stand aside"),
        "term_block": _("Formal term: block"),
        "stance_agree": _("%(name)s agrees."),
        "stance_stand_aside": _("%(name)s will not stand in the way."),
        "stance_block": _("%(name)s objects."),
        "tally": _("Agree: %(agree)s · Will not stand in the way: %(stand_aside)s · Object: %(block)s"),
        "no_proposals": _("No open proposals."),
        "observers_do_not_vote": _("The facilitator and monitors do not take part in consensus checks."),
        "accepted": _("Accepted: now a draft term of the agreement."),
        "accepted_not_added": _("Accepted, but it could not be added to the agreement."),
        "held_for_review": _(
            "Held for a legal reviewer: it may describe a prohibited practice. The agreement cannot become final "
            "until the reviewer decides."
        ),
        "refused_then_held": _("The screening refused it; the facilitator asked a legal reviewer."),
        "blocked": _("Not accepted: someone objected."),
        # The agenda.
        "agenda_empty": _("Nothing on the agenda yet."),
        "done": _("Done"),
        "mark_done": _("Mark as done"),
        # The transcript: one short line for each kind of event.
        "waiting_to_send": _("Waiting to send…"),
        "ev_joined": _("%(name)s joined."),
        "ev_left": _("%(name)s left."),
        "ev_hand_raised": _("%(name)s raised a hand."),
        "ev_hand_lowered": _("%(name)s lowered a hand."),
        "ev_floor_given": _("%(name)s was given the floor."),
        "ev_floor_taken": _("The floor was taken back."),
        "ev_proposed": _("Proposal: %(text)s"),
        "ev_agree": _("%(name)s agrees."),
        "ev_stand_aside": _("%(name)s will not stand in the way (stands aside)."),
        "ev_block": _("%(name)s objects (blocks)."),
        # Comings and goings in a row are drawn as one line (static/js/room/render.js).
        "ev_reconnected": _("%(name)s reconnected."),
        "ev_joined_and_left": _("%(name)s joined and left."),
        "ev_many_joined": _("%(count)s people joined: %(names)s."),
        "ev_many_left": _("%(count)s people left: %(names)s."),
        "ev_screening_lawful": _("A legal reviewer found this term lawful: %(text)s"),
        "ev_screening_prohibited": _(
            "A legal reviewer ruled this term prohibited; it was taken out of the draft agreement: %(text)s"
        ),
        "term_n": _("term %(n)s of the agreement"),
        "ev_started": _("The session started."),
        "ev_ended": _("The session ended."),
        "ev_mode_set": _("The facilitator changed how the room runs."),
        "ev_agenda_added": _("On the agenda: %(title)s"),
        "ev_agenda_done": _("Done with: %(title)s"),
        # Side rooms (shuttle mediation).
        "joint_room": _("the joint room"),
        "another_room": _("another room"),
        "caucus_first_party": _("the first party's room"),
        "caucus_second_party": _("the second party's room"),
        "caucus_live": pgettext("side room", "open"),
        "caucus_ended": pgettext("side room", "closed"),
        "no_caucuses": _("No side room is open."),
        "go_to_your_room": _("Go to your side's room"),
        "go_to_room": _("Go to this room"),
        "close_caucus": _("Close the room"),
        "ev_caucus_opened": _("A private room opened: %(room)s."),
        "ev_caucus_closed": _("A private room closed: %(room)s."),
        "ev_carried": _("Carried to %(room)s: %(text)s"),
        "ev_carried_here": _("Proposal carried from %(room)s: %(text)s"),
        "accepted_in_caucus": _(
            "This side agrees. It is not a term yet: the facilitator may carry it to the other side or to the joint room."
        ),
        "caucus_already_open": _("That side already has an open room."),
        "not_a_joint_session": _("Side rooms are opened from the joint room."),
        "ev_other": _("Something happened (%(kind)s)."),
        # Refusals (#room-error); the server's own explanation follows.
        "session_not_live": _("The session is not live."),
        "forbidden": _("You may not do that now."),
        "prohibited_term": _("This term is prohibited and was refused."),
        "ask_review": _("Ask a legal reviewer"),
        "ask_review_reason": _("Why you believe it is lawful (for the reviewer)"),
        "ask_review_hint": _(
            "If you believe these words are lawful, a legal reviewer can decide. The proposal is then made, marked as "
            "held, and the agreement cannot become final until the reviewer decides."
        ),
        "proposal_decided": _("This proposal has already been decided."),
        "rate_limited": _("Too much at once: sending again in a moment."),
        "malformed": _("That could not be sent as it was."),
        "offline": _("Not connected. Try again in a moment."),
        "error": _("Something went wrong. Try again."),
    }
    for value, label in Participant.Role.choices:
        strings[f"role_{value}"] = label
    for value, label in Term.Kind.choices:
        strings[f"kind_{value}"] = label
    return {key: str(value) for key, value in strings.items()}


def _refused(request, error: SulhError):
    """A 403 page saying why: the caller may see the session or case but not do this (only its facilitators may)."""
    return render(request, "errors/403.html", {"detail": error.detail}, status=403)


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
            "may_print": rules.may_print_transcript(request.user, session),
            # A guest (invited by link) may not see the case: no link to it on their page.
            "may_see_case": case_rules.is_forum_member(request.user, session.case.forum),
            "invitation_form": InvitationForm() if is_facilitator else None,
            "ws_path": f"/ws/sessions/{session.pk}/",
            "room_strings": room_strings(),
            "term_kinds": Term.Kind.choices,
            "sides": Side.choices,
        },
    )


@login_required
@require_GET
def session_transcript(request, session_id: int):
    session = _session_or_404(request, session_id)
    audit.read_record(
        user=request.user, kind=audit.Kind.TRANSCRIPT, case_id=session.case_id, object_id=session.pk, request=request,
        door=audit.Door.PAGE,
    )  # fmt: skip
    events = selectors.transcript_lines(session=session)
    may_print = rules.may_print_transcript(request.user, session)
    return render(request, "deliberation/transcript.html", {"session": session, "events": events,
                                                            "may_print": may_print})  # fmt: skip


@login_required
@require_GET
def session_transcript_print(request, session_id: int):
    """The transcript on paper, for the forum's facilitators to hand to the parties deliberately: guests lose
    access to the session when it ends (deliberation.rules.attends)."""
    try:
        session = selectors.session_get_for_printing(user=request.user, session_id=session_id)
    except NotFoundError:
        raise Http404 from None
    audit.read_record(
        user=request.user, kind=audit.Kind.TRANSCRIPT, case_id=session.case_id, object_id=session.pk, request=request,
        door=audit.Door.PAGE,
    )  # fmt: skip
    events = selectors.transcript_lines(session=session)
    participants = selectors.session_people(session=session)
    return render(request, "deliberation/transcript_print.html",
                  {"session": session, "events": events, "participants": participants})  # fmt: skip


@login_required
@require_GET
def case_sessions(request, case_id: int):
    """The case page's "Dialogue sessions" panel: HTMX loads it into the page (cases never imports
    deliberation); without JavaScript the page links here and it comes as a page of its own."""
    try:
        context = selectors.sessions_panel(user=request.user, case_id=case_id)
    except NotFoundError:
        raise Http404 from None
    template = "deliberation/_sessions_panel.html" if request.htmx else "deliberation/case_sessions.html"
    return render(request, template, context)


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
        if error.status == 403:
            return _refused(request, error)
        messages.error(request, str(error.detail))
        return redirect("case-detail", case_id=case_id)
    messages.success(request, _("Session scheduled."))
    return redirect("session-room", session_id=session.pk)


@login_required
@require_POST
def session_control(request, session_id: int, action: str):
    """Start or end the session from the room (its facilitator)."""
    service = {"start": services.session_start, "end": services.session_end}.get(action)
    if service is None:
        raise Http404
    try:
        service(user=request.user, session_id=session_id)
    except SulhError as error:
        if error.status == 404:
            raise Http404 from None
        if error.status == 403:
            return _refused(request, error)
        messages.error(request, str(error.detail))
    return redirect("session-room", session_id=session_id)


def _when(session: DialogueSession) -> str:
    """The session's time in the reader's language and format (Django's locale formats)."""
    return formats.date_format(timezone.localtime(session.scheduled_for), "DATETIME_FORMAT")


def _name_of(user) -> str:
    return user.get_full_name() or user.get_username()


def invitation_share(*, session: DialogueSession, link: str) -> dict:
    """What the facilitator needs to hand a one-time link to someone who is not a computer user: the message
    (naming the forum and the time), WhatsApp and SMS links carrying it, and a QR code to show on their phone."""
    message = _("You are invited to a dialogue session of %(forum)s on %(time)s. Open this link to join: %(link)s") % {
        "forum": session.case.forum.name, "time": _when(session), "link": link,
    }  # fmt: skip
    # segno writes the SVG itself from the link: nothing in it comes from a user, so it is safe to inline.
    qr = segno.make(link, error="m").svg_inline(
        scale=4, border=2, dark="#000", light="#fff", omitsize=True, title=_("QR code of the invitation link")
    )
    return {
        "link": link,
        "message": message,
        "whatsapp_url": f"https://wa.me/?text={quote(message)}",
        "sms_url": f"sms:?&body={quote(message)}",
        "qr_svg": mark_safe(qr),  # segno's own markup, see above.
    }


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
                gender=form.cleaned_data["gender"], side=form.cleaned_data["side"],
            )  # fmt: skip
            link = request.build_absolute_uri(f"/join/{token}/")
        except SulhError as error:
            if error.status == 404:
                raise Http404 from None
            if error.status == 403:
                return _refused(request, error)
            form.add_error(None, str(error.detail))
    status = 200 if link else 400
    context = {"session": session, "form": form, "link": link}
    if link:
        context.update(invitation_share(session=session, link=link))
    # The room's "Invite someone" panel posts here with fetch and shows only the result, without leaving the room.
    template = "deliberation/_invitation_result.html" if request.headers.get("X-Sulh-Fragment") else (
        "deliberation/invitation.html")  # fmt: skip
    return render(request, template, context, status=status)


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
    invitation = selectors.invitation_preview(token=token)
    if invitation is None:
        detail = services.InvitationInvalid.default_detail
        return render(request, "deliberation/join.html", {"invalid": True, "detail": detail}, status=404)
    session = invitation.session
    return render(request, "deliberation/join.html", {
        "invalid": False, "invitation": invitation, "session": session, "forum": session.case.forum,
        "inviter": _name_of(invitation.created_by),
    })  # fmt: skip
