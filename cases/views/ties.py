"""The case page's declared ties (issue 19, item 4: conflicts of interest): what the section shows (its posts are in
tie_actions.py). The rules are cases.services.conflicts'; this only decides which controls to show."""

from __future__ import annotations

from django.http import HttpRequest

from config.errors import SulhError

from .. import rules as case_rules
from .. import selectors, services, workflows
from ..forms import TieForm
from ..models import Case, GuaranteeSide, TieDeclaration


def ties_context(request: HttpRequest, case: Case) -> dict:
    """Every declaration to whoever reads the case; the forms to the forum's facilitators (a tie of anyone of the
    forum, the sides' acceptance of someone else's) and to its monitors (their own tie), while the case is open."""
    user = request.user
    may_manage = bool(case_rules.can_manage_forum_cases(user, case.forum))
    is_member = bool(case_rules.is_forum_member(user, case.forum))
    is_open = case.state not in workflows.ENDED
    rows = []
    for tie in selectors.case_ties(case=case):
        own = tie.person_id == user.pk
        declared = tie.status == TieDeclaration.Status.DECLARED
        sides = [(value, label) for value, label in GuaranteeSide.choices if not tie.side_accepted(value)]
        rows.append(
            {
                "tie": tie,
                "own": own,
                "may_recuse": is_open and tie.status != TieDeclaration.Status.RECUSED and (own or may_manage),
                "accept_sides": sides if is_open and declared and may_manage and not own else [],
            }
        )
    form = None
    if is_open and (may_manage or is_member):
        people = list(selectors.forum_people(forum=case.forum)) if may_manage else [user]
        form = TieForm(parties=list(case.case_parties.all()), people=people, initial={"person": user.pk})
    blocked = None
    try:
        services.conflict_check(user=user, case_id=case.pk)
    except SulhError as error:
        blocked = error.detail
    return {"t_rows": rows, "t_form": form, "t_blocked": blocked if is_open else None}
