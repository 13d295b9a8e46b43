"""Forms of the facilitator's pages. They check the shape of what was typed; the rules stay in the services."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import gender_choices

from . import workflows
from .instalments import instalments_split
from .models import (
    CLOSING_OUTCOMES,
    REVIEW_REASON_LENGTH,
    CaseParty,
    ComplianceCheck,
    Deposit,
    DisputeType,
    GuaranteeSide,
    OffenceClass,
    Party,
    RiskFactor,
    RiskLevel,
    Term,
    TieDeclaration,
)
from .settlements import SPOKEN_LANGUAGES, language_name

if TYPE_CHECKING:
    from .services import TermInput

BLANK = ("", "—")


def _with_blank(choices, label=BLANK[1]) -> list[tuple[str, str]]:
    return [("", label), *choices]


class DateInput(forms.DateInput):
    input_type = "date"


# --- The case list's filters ---------------------------------------------------------------------


class CaseFilterForm(forms.Form):
    """The list's filters. An unusable value (a forum id that is not a number) is dropped, never a 500."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Reference, words of the title, or a party's full name")}
        ),
    )
    forum = forms.TypedChoiceField(label=_("Forum"), required=False, coerce=int, empty_value=None)
    state = forms.ChoiceField(label=_("State"), required=False)
    dispute_type = forms.ChoiceField(
        label=_("Dispute type"), required=False, choices=_with_blank(DisputeType.choices, _("Any dispute type"))
    )

    def __init__(self, *args, forums, **kwargs):
        super().__init__(*args, **kwargs)
        forum_field = self.fields["forum"]
        assert isinstance(forum_field, forms.ChoiceField)  # Declared above.
        forum_field.choices = _with_blank([(f.pk, f.name) for f in forums], _("All forums"))
        # Only the states of the workflows the user's forums run, in each workflow's order.
        states: list[str] = []
        for kind in dict.fromkeys(f.kind for f in forums):
            for state in workflows.workflow_for(kind).all_states:
                if state not in states:
                    states.append(state)
        state_field = self.fields["state"]
        assert isinstance(state_field, forms.ChoiceField)  # Declared above.
        state_field.choices = _with_blank([(s, workflows.STATE_LABELS[s]) for s in states], _("Any state"))


# --- Opening a case ------------------------------------------------------------------------------


class ForumChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} · {obj.get_kind_display()}"


class CaseOpenForm(forms.Form):
    forum = ForumChoiceField(label=_("Forum"), queryset=None, empty_label=_("Choose a forum"))
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        # Titles stay in clear (lists show them, search finds their words); names are encrypted elsewhere.
        help_text=_("Lists show the title to everyone in the forum: describe the dispute without naming people."),
    )
    summary = forms.CharField(
        label=_("Summary"), required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 3})
    )
    dispute_type = forms.ChoiceField(label=_("Dispute type"), choices=_with_blank(DisputeType.choices))
    risk_level = forms.ChoiceField(label=_("Risk level"), choices=_with_blank(RiskLevel.choices))
    offence_class = forms.ChoiceField(
        label=_("Offence class"),
        choices=_with_blank(OffenceClass.choices),
        help_text=_("An offence only a court may decide can only be referred or withdrawn."),
    )
    referral_source = forms.CharField(
        label=_("Referral source"),
        required=False,
        max_length=60,
        help_text=_("Optional: the station house officer, a court, a union council or the parties themselves."),
    )
    fir_number = forms.CharField(label=_("FIR number"), required=False, max_length=40)

    def __init__(self, *args, forums, **kwargs):
        super().__init__(*args, **kwargs)
        forum = self.fields["forum"]
        assert isinstance(forum, forms.ModelChoiceField)  # Declared above.
        forum.queryset = forums


class PartyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=_with_blank(Party.Kind.choices))
    role = forms.ChoiceField(label=_("Role"), choices=_with_blank(CaseParty.Role.choices))
    gender = forms.ChoiceField(
        label=_("Gender (optional)"),
        choices=gender_choices(),
        required=False,
        help_text=_("Only as they say of themselves; counted without names."),
    )


class BasePartyFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_few_forms": _("Name at least two parties."),
        "too_many_forms": _("A case can have at most 50 parties."),
    }


PartyFormSet = forms.formset_factory(
    PartyForm,
    formset=BasePartyFormSet,
    extra=0,
    min_num=2,
    validate_min=True,
    max_num=50,
    validate_max=True,
    absolute_max=50,
)

INITIAL_PARTIES = [
    {"role": CaseParty.Role.FIRST_PARTY, "kind": Party.Kind.FAMILY},
    {"role": CaseParty.Role.SECOND_PARTY, "kind": Party.Kind.FAMILY},
]


# --- Moving a case -------------------------------------------------------------------------------


class TransitionForm(forms.Form):
    to = forms.CharField(max_length=40)
    version = forms.IntegerField(min_value=1)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=4000)
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=_with_blank(
            [(o.value, o.label) for o in CLOSING_OUTCOMES],
            _("Choose an outcome"),
        ),
    )
    truce_expires = forms.DateField(label=_("Truce expires"), required=False)
    # The page's confirmation before the agreement becomes final (the API does not ask for it).
    confirm_final = forms.BooleanField(required=False)


# --- The agreement editor ------------------------------------------------------------------------


class TermForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=_with_blank(Term.Kind.choices))
    description = forms.CharField(label=_("Description"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
    amount = forms.DecimalField(
        label=_("Amount"),
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=0,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )
    currency = forms.RegexField(
        label=_("Currency"),
        required=False,
        regex=r"^[A-Za-z]{3}$",
        max_length=3,
        error_messages={"invalid": _("A three-letter ISO code such as PKR.")},
        widget=forms.TextInput(attrs={"placeholder": "PKR", "autocapitalize": "characters", "size": 4}),
    )
    due = forms.DateField(label=_("Due"), required=False, widget=DateInput)
    instalment_count = forms.IntegerField(
        label=_("Instalments"),
        required=False,
        min_value=1,
        max_value=120,
        help_text=_("Compensation paid in monthly instalments: how many."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "size": 4}),
    )
    first_instalment = forms.DateField(label=_("First instalment due"), required=False, widget=DateInput)
    # Offered on a term the screening refused (_term_row.html), and kept while a reviewer decides.
    ask_review = forms.BooleanField(
        label=_("I believe this term is lawful: ask a legal reviewer to decide"),
        required=False,
        help_text=_("The term is kept in the draft, marked, and the agreement cannot become final until a legal "
                    "reviewer decides. If they find it prohibited, it leaves the draft."),
    )  # fmt: skip
    ask_review_reason = forms.CharField(
        label=_("Why you believe it is lawful (for the reviewer)"), required=False, max_length=REVIEW_REASON_LENGTH,
        widget=forms.TextInput(attrs={"dir": "auto"}),
    )  # fmt: skip

    def clean_currency(self) -> str:
        return (self.cleaned_data.get("currency") or "").upper()

    def clean(self):
        data = super().clean()
        assert data is not None  # forms.Form.clean returns cleaned_data.
        count, first = data.get("instalment_count"), data.get("first_instalment")
        if count and count > 1 or first:
            if not first:
                self.add_error("first_instalment", _("When is the first instalment due?"))
            elif data.get("amount") is None:
                self.add_error("amount", _("Instalments divide an amount: give the term's amount."))
        return data

    def as_term(self) -> TermInput:
        """The term as cases.services.agreement_record takes it."""
        data = self.cleaned_data
        term: TermInput = {
            "kind": data["kind"],  # Required: a valid form has them.
            "description": data["description"],
            "amount": data.get("amount"),
            "currency": data.get("currency"),
            "due": data.get("due"),
            "ask_review": bool(data.get("ask_review")),
            "ask_review_reason": data.get("ask_review_reason") or "",
        }
        first = data.get("first_instalment")
        if first and data.get("amount") is not None:
            term["instalments"] = instalments_split(
                amount=data["amount"], count=data.get("instalment_count") or 1, first_due=first
            )
        return term


class BaseTermFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_few_forms": _("An agreement needs at least one term."),
        "too_many_forms": _("An agreement can have at most 100 terms."),
    }

    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        if self.can_delete and forms.formsets.DELETION_FIELD_NAME in form.fields:
            form.fields[forms.formsets.DELETION_FIELD_NAME].label = _("Remove this term")


# formset_factory makes a subclass of `formset`; its stub only promises a BaseFormSet.
TermFormSet = cast(
    type[BaseTermFormSet],
    forms.formset_factory(
        TermForm,
        formset=BaseTermFormSet,
        extra=0,
        min_num=1,
        validate_min=True,
        max_num=100,
        validate_max=True,
        absolute_max=100,
        can_delete=True,
    ),
)


def term_initial(agreement) -> list[dict]:
    """The draft's terms as the editor's starting rows (an instalment schedule as its count and first date)."""
    if agreement is None:
        return []
    rows = []
    for t in agreement.terms.all():
        row = {"kind": t.kind, "description": t.description, "amount": t.amount, "currency": t.currency, "due": t.due}
        if t.refused_and_held:
            row["ask_review"] = True
            row["ask_review_reason"] = t.review_reason
        instalments = list(t.instalments.all())
        if instalments:
            row["instalment_count"] = len(instalments)
            row["first_instalment"] = instalments[0].due_on
        rows.append(row)
    return rows


# --- Moving a case on the ladder -----------------------------------------------------------------


class EscalationForm(forms.Form):
    """A move up or down the ladder. The reason, the skip and the justification are the service's rules;
    this form only checks that what came in has the right shape."""

    direction = forms.ChoiceField(choices=[("up", _("Up")), ("down", _("Down"))])
    version = forms.IntegerField(min_value=1)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=4000)
    to_level = forms.IntegerField(label=_("To rung"), required=False, min_value=1, max_value=1000)
    justification = forms.CharField(label=_("Justification"), required=False, max_length=4000)


# --- Following the agreement ----------------------------------------------------------------------


class MonitorAssignForm(forms.Form):
    monitor = forms.TypedChoiceField(label=_("Monitor"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, monitors, **kwargs):
        super().__init__(*args, **kwargs)
        monitor = self.fields["monitor"]
        assert isinstance(monitor, forms.ChoiceField)  # Declared above.
        monitor.choices = _with_blank(
            [(m.pk, m.get_full_name() or m.get_username()) for m in monitors], _("Any of the forum's monitors")
        )


class RiskFactorsForm(forms.Form):
    factors = forms.TypedMultipleChoiceField(
        label=_("Risk factors this case shows"),
        required=False,
        coerce=int,
        choices=RiskFactor.choices,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "checkbox-list"}),
    )


class RecurrenceLinkForm(forms.Form):
    reference = forms.CharField(
        label=_("Reference of the earlier case"),
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "JIR-2025-00012", "autocapitalize": "characters"}),
    )


class RecurrenceDecisionForm(forms.Form):
    status = forms.ChoiceField(choices=[("confirmed", _("Confirm")), ("rejected", _("Reject"))])


SCALE = [(n, str(n)) for n in range(1, 6)]
YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class SurveyForm(forms.Form):
    """One party's answers at closing. The rules (who, when, once per party) are services.survey_record's."""

    party = forms.TypedChoiceField(label=_("Party"), coerce=int)
    satisfaction = forms.TypedChoiceField(
        label=_("How satisfied is the party with the outcome? (1 not at all – 5 fully)"),
        choices=SCALE,
        coerce=int,
        widget=forms.RadioSelect,
    )
    fairness = forms.TypedChoiceField(
        label=_("How fair was the process? (1 not at all – 5 fully)"),
        choices=SCALE,
        coerce=int,
        widget=forms.RadioSelect,
    )
    felt_heard = forms.TypedChoiceField(
        label=_("Did the party feel heard?"), choices=YES_NO, coerce=lambda v: v == "yes", widget=forms.RadioSelect
    )
    would_use_again = forms.TypedChoiceField(
        label=_("Would the party bring a dispute to this forum again?"),
        choices=YES_NO,
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, parties, **kwargs):
        super().__init__(*args, **kwargs)
        party = self.fields["party"]
        assert isinstance(party, forms.ChoiceField)  # Declared above.
        party.choices = [(cp.party_id, f"{cp.party.name} · {cp.get_role_display()}") for cp in parties]


# --- The monitor's "Checks due" page: one check of one term ------------------------------------------


class ComplianceCheckForm(forms.Form):
    """One term's check as the "Checks due" page posts it without JavaScript. The idempotency key is made
    when the page is drawn, so a form sent twice (a double tap, a retried post) records one check."""

    case = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    term = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=ComplianceCheck.Status.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what you saw: met, partly met, not met or breached.")},
    )
    notes = forms.CharField(label=_("Notes"), required=False, max_length=10000, widget=forms.Textarea)
    paid = forms.DecimalField(
        label=_("Paid on this visit"), required=False, min_value=0, max_digits=14, decimal_places=2
    )


class ConfirmForm(forms.Form):
    """An action with nothing to fill in: a button (marking conflicting checks reviewed)."""


class AttestationForm(forms.Form):
    """That the written settlement was read aloud (cases.services.settlement_attest checks the rest)."""

    read_to = forms.CharField(
        label=_("Read aloud to"),
        max_length=300,
        help_text=_("The parties or their spokesmen who heard it, e.g. both families' elders."),
    )
    language = forms.ChoiceField(label=_("In the language"))
    witnesses = forms.CharField(
        label=_("Before these witnesses"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One name a line."),
        max_length=3000,
    )
    read_on = forms.DateField(label=_("On"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["language"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(code, language_name(code)) for code in SPOKEN_LANGUAGES]
        if not self.is_bound:
            self.initial.setdefault("read_on", timezone.localdate())

    def witness_names(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["witnesses"].splitlines() if line.strip()]


# --- Guarantees (issue 19, item 2); the rules are cases.services.guarantees' -------------------------------


def _choose_a_party(field: forms.TypedChoiceField, parties: list[CaseParty] | None) -> None:
    """The case's parties as a field's choices, each once, by name and pseudonym; the names are what people wrote,
    in either direction (dir="auto")."""
    field.widget.attrs["dir"] = "auto"
    seen: dict[int, str] = {}
    for cp in parties or []:
        seen.setdefault(cp.party_id, f"{cp.party.name} ({cp.party.pseudonym})")
    field.choices = [BLANK, *seen.items()]


class GuarantorForm(forms.Form):
    stands_for = forms.ChoiceField(label=_("Stands for"), choices=GuaranteeSide.choices)
    party = forms.TypedChoiceField(label=_("A party of the case"), coerce=int, required=False, empty_value=None)
    name = forms.CharField(
        label=_("…or the guarantor's name"), max_length=200, required=False,
        help_text=_("Give a party of the case or a name, not both."),
    )  # fmt: skip
    guarantees = forms.CharField(
        label=_("What they guarantee"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, parties: list[CaseParty] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["party"]
        assert isinstance(field, forms.TypedChoiceField)
        _choose_a_party(field, parties)


class DepositForm(forms.Form):
    kind = forms.ChoiceField(label=_("Money or goods"), choices=Deposit.Kind.choices)
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=14, decimal_places=2, required=False,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )  # fmt: skip
    currency = forms.RegexField(
        label=_("Currency"), regex=r"^[A-Za-z]{3}$", required=False, max_length=3,
        error_messages={"invalid": _("A three-letter ISO code such as PKR.")},
    )  # fmt: skip
    description = forms.CharField(label=_("What was deposited"), max_length=1000, required=False)
    held_by = forms.CharField(label=_("Held by"), max_length=200, help_text=_("e.g. the jirga's elder"))
    deposited_by = forms.ChoiceField(label=_("Deposited by"), choices=GuaranteeSide.choices)
    received_at = forms.DateField(label=_("Received on"), widget=forms.DateInput(attrs={"type": "date"}))


class GuaranteeReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=4000, required=False)


class TieForm(forms.Form):
    """A declared tie (cases.services.conflicts): who, to which party, what kind."""

    person = forms.TypedChoiceField(label=_("Who has the tie"), coerce=int)
    party = forms.TypedChoiceField(label=_("To which party"), coerce=int)
    kind = forms.ChoiceField(label=_("Kind of tie"), choices=TieDeclaration.Kind.choices)
    note = forms.CharField(
        label=_("Note"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("e.g. a cousin of the family's head; a partner in a shop"),
    )  # fmt: skip

    def __init__(self, *args, parties: list[CaseParty] | None = None, people=(), **kwargs) -> None:
        # Ids of its own: the guarantees' forms on the same case page have a `party` and a `kind` too.
        kwargs.setdefault("auto_id", "tie_%s")
        super().__init__(*args, **kwargs)
        person = self.fields["person"]
        party = self.fields["party"]
        assert isinstance(person, forms.TypedChoiceField)
        assert isinstance(party, forms.TypedChoiceField)
        person.choices = [(user.pk, user.get_full_name() or user.get_username()) for user in people]
        _choose_a_party(party, parties)


class TieAcceptForm(forms.Form):
    side = forms.ChoiceField(label=_("The side that accepts"), choices=GuaranteeSide.choices)
    accepted_by = forms.CharField(
        label=_("Accepted for the side by"), max_length=200, help_text=_("Who spoke for the side, e.g. its elder")
    )
