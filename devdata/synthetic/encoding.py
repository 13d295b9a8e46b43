"""Times, amounts and event data as text: epoch seconds and days as the services write them into event data
and COPY reads them, amounts in cents as the services' Decimals print, and compact JSON."""

from __future__ import annotations

import json
from datetime import date, timedelta

DAY = 86400

_EPOCH = date(1970, 1, 1)
_HMS = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]


class _DayTexts(dict):
    """Days since the epoch as YYYY-MM-DD, each worked out once: _DAYS[day]."""

    def __missing__(self, day: int) -> str:
        text = self[day] = (_EPOCH + timedelta(days=day)).isoformat()
        return text


_DAYS = _DayTexts()
_HMS_COPY = [f" {hms}+00" for hms in _HMS]  # The time of day of a timestamp in COPY's text format.


def day_text(day: int) -> str:
    """Days since the epoch as YYYY-MM-DD."""
    return _DAYS[day]


def iso(t: int) -> str:
    """Epoch seconds as the services write a time into event data (isoformat of a whole second)."""
    return f"{_DAYS[t // DAY]}T{_HMS[t % DAY]}+00:00"


def _not_json(value: object) -> object:
    raise TypeError(f"{type(value).__name__} is not JSON")


# Compact, UTF-8 kept: json.JSONEncoder(ensure_ascii=False, separators=(",", ":")), with its C encoder made once
# (JSONEncoder.encode makes one per call, which shows at millions of events). typeshed's json.encoder does not
# declare c_make_encoder (None without the C speedups), hence getattr.
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
if _c_make_encoder is not None:
    _encode_json = _c_make_encoder(None, _not_json, json.encoder.encode_basestring, None, ":", ",", False, False, True)

    def as_json(data: dict) -> str:
        return "".join(_encode_json(data, 0))

else:  # pragma: no cover (Pythons without json's C speedups)
    _encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

    def as_json(data: dict) -> str:
        return _encoder.encode(data)


def cents_text(cents: int) -> str:
    """An amount in cents (paisa, fils, agorot) as str() of the Decimal the services hold: 1234.50."""
    return f"{cents // 100}.{cents % 100:02d}"
