"""0016 brings a database made before the screening engine to the shipped phrases: the four old rows are
replaced, phrases an administrator added stay."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection

from cases.models import ProhibitedPhrase, ProhibitedPractice

pytestmark = pytest.mark.django_db

migration = importlib.import_module("cases.migrations.0016_screening_phrases_revised")


def test_the_old_rows_are_replaced_and_an_administrators_stay():
    practice = ProhibitedPractice.objects.get(code="woman-given-in-settlement")
    ProhibitedPhrase.objects.filter(practice=practice, language="ur", phrase__contains="بدل").delete()
    ProhibitedPhrase.objects.create(practice=practice, language="ur", phrase="بدلِ صلح|بدل صلح")
    ProhibitedPhrase.objects.create(practice=practice, language="ur", phrase="ایک ایڈمن کا فقرہ")

    class Editor:
        connection = connection

    migration.replace(apps, Editor())
    phrases = set(ProhibitedPhrase.objects.filter(practice=practice, language="ur").values_list("phrase", flat=True))
    assert "بدلِ صلح|بدل صلح" not in phrases
    assert "?بدلِ صلح|بدل صلح" in phrases
    assert "ایک ایڈمن کا فقرہ" in phrases
