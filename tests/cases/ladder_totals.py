"""The escalation statistics' stored totals, to compare what the services kept with a recount."""

from cases.models import LadderMove, LadderOpenCount, LadderStat


def totals():
    opens = {(r.forum_id, r.rung_id): r.open_cases for r in LadderOpenCount.objects.all() if r.open_cases}
    stats = {(r.forum_id, r.month, r.metric, r.level, r.bucket): r.n for r in LadderStat.objects.all() if r.n}
    moves = sorted(
        LadderMove.objects.values_list(
            "case_id", "forum_id", "at", "up", "from_level", "to_level", "stay_bucket", "first_up", "came_down"
        )
    )
    return opens, stats, moves
