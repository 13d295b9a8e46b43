# Dari: Django's Persian dates (day, month by name, year; 24-hour clock), with grouped thousands added.
THOUSAND_SEPARATOR = "٬"
NUMBER_GROUPING = 3
