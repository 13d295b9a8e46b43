"""Server-rendered pages. They call selectors and services; the rules live there."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import selectors


@login_required
def home(request):
    """One home page; what it shows depends on the roles the user holds."""
    roles = selectors.user_roles(user=request.user)
    forum_roles = selectors.membership_roles_for_user(user=request.user)
    forums = list(selectors.forum_list_for_user(user=request.user))
    for forum in forums:
        forum.my_roles = sorted(forum_roles.get(forum.pk, set()))
    context = {
        "roles": roles,
        "forums": forums,
        "facilitated": [f for f in forums if "facilitator" in f.my_roles],
        "monitored": [f for f in forums if "monitor" in f.my_roles],
    }
    return render(request, "cases/home.html", context)
