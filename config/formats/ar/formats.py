# Arabic: Django's dates, with a 24-hour clock and grouped thousands added (Django's Arabic has neither).
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j F Y، H:i"
SHORT_DATETIME_FORMAT = "d‏/m‏/Y H:i"
THOUSAND_SEPARATOR = "٬"
NUMBER_GROUPING = 3
