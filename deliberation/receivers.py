"""What deliberation hears from cases: a legal reviewer's decision reaches the live rooms of the case."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from cases import services as case_services

from . import services


@receiver(case_services.screening_decided, dispatch_uid="screening_decided_tell_the_room")
def screening_decided(sender: Any, *, case_id: int, position: int, decision: str, practice: str | None,
                      **kwargs: Any) -> None:  # fmt: skip
    services.screening_decided_announce(case_id=case_id, position=position, decision=decision, practice=practice)
