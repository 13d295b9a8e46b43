"""Reading the read log: per case and per user for administrators (newest first), and the last reads of one case
for its page. The case is reached through the log's foreign key, so this app imports nothing of `cases`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet

from config.errors import ForbiddenError, NotFoundError

from . import rules
from .models import ReadRecord

CASE_PAGE_READS = 20
# What a line of the log shows: the reader's username and the case's reference, nothing else of either.
LOG_FIELDS = ("kind", "object_id", "at", "ip", "door", "user", "user__username", "case", "case__reference")


def _case_model() -> type[Model]:
    model = ReadRecord._meta.get_field("case").related_model
    assert isinstance(model, type)
    assert issubclass(model, Model)
    return model


@dataclass(frozen=True)
class LogQuery:
    """What an administrator asked for: the case and the user found (None when not asked), and their reads."""

    case: Any
    user: Any
    reads: QuerySet[ReadRecord]


def read_log(*, viewer: Any, case_id: int | None = None, user_id: int | None = None) -> LogQuery:
    """The reads of a case, of a user, or of both, newest first. Administrators only (ForbiddenError otherwise,
    before any id is looked at); an unknown case or user is NotFoundError."""
    if not rules.can_read_audit(viewer):
        raise ForbiddenError()
    reads = ReadRecord.objects.select_related("user", "case").only(*LOG_FIELDS)
    case = user = None
    if case_id is not None:
        case = _case_model()._default_manager.filter(pk=case_id).only("pk", "reference").first()
        if case is None:
            raise NotFoundError()
        reads = reads.filter(case_id=case_id)
    if user_id is not None:
        user = get_user_model()._default_manager.filter(pk=user_id).only("pk", "username").first()
        if user is None:
            raise NotFoundError()
        reads = reads.filter(user_id=user_id)
    return LogQuery(case=case, user=user, reads=reads.order_by("-at", "-id"))


def case_reads(*, case_id: int, limit: int = CASE_PAGE_READS) -> list[ReadRecord]:
    """The last reads of one case, for its page (the caller decides who may see them)."""
    return list(
        ReadRecord.objects.filter(case_id=case_id)
        .select_related("user", "case")
        .only(*LOG_FIELDS)
        .order_by("-at", "-id")[:limit]
    )
