"""Live dialogue sessions: who attends, everything that happens (numbered, append-only), proposals and the
consensus checks on them, the agenda and the one-time invitations for party representatives.

Only deliberation.services writes these rows: it numbers events under the session row's lock and
publishes them after commit (shared/CONTRACT.md section 5).
"""

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import gender_field
from cases.models import REVIEW_REASON_LENGTH, Case, Term
from config.crypto import EncryptedJSONField, EncryptedTextField


class Side(models.TextChoices):
    """One of the two sides of a dispute, as the case's parties are (cases.models.CaseParty.Role's values). A caucus
    belongs to one side; a guest of the joint session may belong to one."""

    FIRST_PARTY = "first_party", _("First party")
    SECOND_PARTY = "second_party", _("Second party")


class DialogueSession(models.Model):
    """A session of a case. A joint session (`joint` null) brings everyone together; a caucus (shuttle mediation,
    issue 19) is a private side room of a joint session, with the facilitators and ONE side's people: its own
    events, seq and proposals, so that section 5 of the contract holds in it unchanged."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        LIVE = "live", _("Live")
        ENDED = "ended", _("Ended")

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="sessions")
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("facilitator"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    scheduled_for = models.DateTimeField(_("scheduled for"))
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # The talking piece: who holds it, until when, and whether only they (and the facilitator) may speak.
    floor = models.ForeignKey(
        "Participant", verbose_name=_("floor"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    floor_until = models.DateTimeField(_("floor until"), null=True, blank=True)
    floor_only = models.BooleanField(_("only the floor speaks"), default=False)
    priority_first = models.BooleanField(_("victims and women first in the queue"), default=False)
    turn_seconds = models.PositiveSmallIntegerField(_("time cap per turn (seconds)"), null=True, blank=True)
    last_seq = models.PositiveIntegerField(default=0, editable=False)
    joint = models.ForeignKey(
        "self", verbose_name=_("joint session"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="caucuses", help_text=_("Set for a caucus: the joint session it is a side room of."),
    )  # fmt: skip
    side = models.CharField(_("side"), max_length=12, choices=Side.choices, blank=True, default="")

    class Meta:
        verbose_name = _("dialogue session")
        verbose_name_plural = _("dialogue sessions")
        ordering = ["-scheduled_for", "-id"]
        constraints = [
            models.CheckConstraint(
                name="session_started_when_live_or_ended",
                condition=Q(status="scheduled", started_at__isnull=True, ended_at__isnull=True)
                | Q(status="live", started_at__isnull=False, ended_at__isnull=True)
                | Q(status="ended", started_at__isnull=False, ended_at__isnull=False),
            ),
            # A caucus has a side and a joint session; a joint session has neither.
            models.CheckConstraint(
                name="session_caucus_has_a_side",
                condition=Q(joint__isnull=True, side="") | Q(joint__isnull=False, side__in=Side.values),
            ),
            # One open caucus per side of a joint session at a time (services.caucus_open checks it first, under
            # the joint session's lock; this stops what slips past).
            models.UniqueConstraint(
                fields=["joint", "side"],
                condition=~Q(status="ended") & Q(joint__isnull=False),
                name="session_one_open_caucus_per_side",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case.reference} · {self.scheduled_for:%Y-%m-%d %H:%M}"

    @property
    def is_caucus(self) -> bool:
        return self.joint_id is not None


class Participant(models.Model):
    """Someone who may attend a session: its facilitator, forum members, and invited party representatives
    or elders (guests with a one-time link). `connections` counts their open sockets (several devices)."""

    class Role(models.TextChoices):
        FACILITATOR = "facilitator", _("Facilitator")
        MEMBER = "member", _("Forum member")
        MONITOR = "monitor", _("Monitor")
        PARTY = "party", _("Party representative")
        ELDER = "elder", _("Elder")

    session = models.ForeignKey(DialogueSession, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("role"), max_length=12, choices=Role.choices)
    display_name = EncryptedTextField(_("name shown"), max_length=120)  # Encrypted at rest (config/crypto.py).
    priority = models.BooleanField(
        _("victim or woman"), default=False, help_text=_("Put first in the queue when the session asks for it.")
    )
    gender = gender_field()
    # In a joint session: the side a guest speaks for (blank: forum staff, neutral elders), which admits them to
    # that side's caucuses. In a caucus: the caucus's side for its guests.
    side = models.CharField(_("side"), max_length=12, choices=Side.choices, blank=True, default="")
    connections = models.PositiveIntegerField(default=0)
    #: Not stored: the LiveConnection that services.participant_connect just opened for this socket.
    connection_id: int | None = None
    hand_raised_at = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField(_("joined"), null=True, blank=True)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="participant_once_per_session")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def present(self) -> bool:
        return self.connections > 0

    @property
    def votes(self) -> bool:
        """Takes part in consensus checks: everyone but the facilitator and monitors (who observe)."""
        return self.role not in (self.Role.FACILITATOR, self.Role.MONITOR)


class LiveConnection(models.Model):
    """One open socket of a participant, held by one server process. `Participant.connections` counts these
    rows; a process that dies (kill -9, a crash, a lost machine) cannot say that its sockets closed, so each
    live process beats (ProcessBeat) and sweeps the connections of processes that stopped beating
    (services.connections_sweep): their people show as left within a minute instead of present forever."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="live_connections")
    process = models.CharField(max_length=80, db_index=True)
    opened_at = models.DateTimeField(default=timezone.now)


class ProcessBeat(models.Model):
    """The last sign of life of a server process that holds session sockets."""

    process = models.CharField(max_length=80, primary_key=True)
    seen_at = models.DateTimeField()


class SessionEvent(models.Model):
    """One thing that happened in a session, numbered 1, 2, 3 … without gaps. Never changed or deleted."""

    session = models.ForeignKey(DialogueSession, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=24)
    actor = models.ForeignKey(Participant, null=True, on_delete=models.PROTECT, related_name="+")
    client_id = models.CharField(max_length=64, blank=True)
    # Encrypted at rest as a whole (config/crypto.py): what was said, proposed and who joined. Read back exactly
    # as it was sent live, the contract's `data.body` in clear to the clients.
    data = EncryptedJSONField(default=dict)
    at = models.DateTimeField()

    class Meta:
        ordering = ["session", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["session", "seq"], name="session_event_seq_unique"),
            # A client retrying a frame with the same client_id gets the first event back, never a second one.
            models.UniqueConstraint(
                fields=["session", "actor", "client_id"],
                condition=~Q(client_id=""),
                name="session_event_client_id_unique",
            ),
            models.CheckConstraint(condition=Q(seq__gte=1), name="session_event_seq_positive"),
        ]
        triggers = [
            pgtrigger.Protect(name="session_event_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]


class Proposal(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        BLOCKED = "blocked", _("Blocked")

    session = models.ForeignKey(DialogueSession, on_delete=models.CASCADE, related_name="proposals")
    text = EncryptedTextField(_("text"))  # Encrypted at rest (config/crypto.py).
    term_kind = models.CharField(_("term kind"), max_length=14, choices=Term.Kind.choices, default=Term.Kind.OTHER)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    proposed_by = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    # The draft agreement term an accepted proposal became (its position then).
    term_position = models.PositiveSmallIntegerField(null=True, blank=True)
    # The screening refused it and the facilitator sent it to a legal reviewer (held, as its term will be).
    screening_refused = models.BooleanField(
        _("refused by the screening, sent to a reviewer"), default=False, db_default=False
    )
    # Why the facilitator believes it lawful, for the reviewer (not sent to the room). Encrypted at rest.
    review_reason = EncryptedTextField(
        _("why the facilitator asked a reviewer"), max_length=REVIEW_REASON_LENGTH, blank=True, default="",
        db_default="",
    )  # fmt: skip

    class Meta:
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        ordering = ["session", "id"]


class Response(models.Model):
    class Stance(models.TextChoices):
        AGREE = "agree", _("Agree")
        STAND_ASIDE = "stand_aside", _("Stand aside")
        BLOCK = "block", _("Block")

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="responses")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    stance = models.CharField(_("stance"), max_length=12, choices=Stance.choices)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["proposal", "participant"], name="response_once")]


class AgendaItem(models.Model):
    session = models.ForeignKey(DialogueSession, on_delete=models.CASCADE, related_name="agenda")
    position = models.PositiveSmallIntegerField()
    title = EncryptedTextField(_("title"), max_length=200)  # Encrypted at rest: an agenda item may name people.
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "position"]
        constraints = [models.UniqueConstraint(fields=["session", "position"], name="agenda_position_unique")]


class Invitation(models.Model):
    """A one-time link admitting a party representative or an elder to one session. Only the token's hash
    is stored."""

    session = models.ForeignKey(DialogueSession, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    display_name = EncryptedTextField(_("name shown"), max_length=120)  # Encrypted at rest (config/crypto.py).
    role = models.CharField(_("role"), max_length=12, choices=Participant.Role.choices)
    priority = models.BooleanField(_("victim or woman"), default=False)
    gender = gender_field()
    side = models.CharField(_("side"), max_length=12, choices=Side.choices, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    participant = models.ForeignKey(Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
