"""Date and number formats for Sulh's languages (settings.FORMAT_MODULE_PATH), where Django's own are missing or
read wrongly where Sulh is used: Django has none for Urdu or Pashto, and its English ones put the month first
("12/06/2026" is 12 June to a reader in Pakistan). Every format here is day, month, year, with the month by name,
and a 24-hour clock. Arabic and Dari (Persian) keep Django's.

The month names are Django's own messages; they are listed here so that `makemessages` keeps them in Sulh's
catalogs, where Pashto (which Django does not translate) has them.
"""

from django.utils.translation import gettext_noop, pgettext_lazy

MONTHS = [
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
]
# The "M" format: Django's three-letter names ("jan" … "dec", shown capitalised).
MONTHS_3 = [
    gettext_noop("jan"),
    gettext_noop("feb"),
    gettext_noop("mar"),
    gettext_noop("apr"),
    gettext_noop("may"),
    gettext_noop("jun"),
    gettext_noop("jul"),
    gettext_noop("aug"),
    gettext_noop("sep"),
    gettext_noop("oct"),
    gettext_noop("nov"),
    gettext_noop("dec"),
]
# The "E" format and month names standing alone ("December 2026").
MONTHS_ALT = [
    pgettext_lazy("alt. month", "January"),
    pgettext_lazy("alt. month", "February"),
    pgettext_lazy("alt. month", "March"),
    pgettext_lazy("alt. month", "April"),
    pgettext_lazy("alt. month", "May"),
    pgettext_lazy("alt. month", "June"),
    pgettext_lazy("alt. month", "July"),
    pgettext_lazy("alt. month", "August"),
    pgettext_lazy("alt. month", "September"),
    pgettext_lazy("alt. month", "October"),
    pgettext_lazy("alt. month", "November"),
    pgettext_lazy("alt. month", "December"),
]
