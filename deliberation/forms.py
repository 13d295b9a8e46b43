from django import forms
from django.utils.translation import gettext_lazy

from accounts.models import gender_choices

from .models import Participant, Side


class SessionScheduleForm(forms.Form):
    scheduled_for = forms.DateTimeField(
        label=gettext_lazy("Date and time"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class InvitationForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name shown in the room"),
        max_length=120,
        help_text=gettext_lazy("How the others will see them, e.g. “Representative of the first party”."),
    )
    role = forms.ChoiceField(
        label=gettext_lazy("Role"),
        choices=[
            (Participant.Role.PARTY, Participant.Role.PARTY.label),
            (Participant.Role.ELDER, Participant.Role.ELDER.label),
        ],
    )
    priority = forms.BooleanField(
        label=gettext_lazy("A victim or a woman (first in the queue when asked)"), required=False
    )
    side = forms.ChoiceField(
        label=gettext_lazy("Side"),
        choices=[("", gettext_lazy("No side (a neutral elder)")), *Side.choices],
        required=False,
        help_text=gettext_lazy("Whose side they speak for: they may join that side's private room, never the other's."),
    )
    gender = forms.ChoiceField(
        label=gettext_lazy("Gender (optional)"),
        choices=gender_choices(),
        required=False,
        help_text=gettext_lazy(
            "Only as they say of themselves. Counted without names, to show whether women take part."
        ),
    )
