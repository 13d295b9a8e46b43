"""The law a refusal cites: the forum's country's and the international standard, in the reader's language."""

from __future__ import annotations

import json

import pytest
from django.utils import translation

from cases.models import Forum
from cases.screening.law import LAW_PATH, law_for

PRACTICES = [
    "woman-given-in-settlement",
    "forced-child-exchange-marriage",
    "inheritance-deprivation",
    "corporal-punishment-penalty",
    "collective-punishment-revenge",
    "counsel-waiver-victim-identity",
    "non-compoundable-honour-killing",
]


def test_every_practice_has_law_for_every_country_and_language():
    data = json.loads(LAW_PATH.read_text(encoding="utf-8"))
    assert sorted(data["practices"]) == sorted(PRACTICES)
    for code in PRACTICES:
        for country in [*Forum.Country.values, "INT"]:
            entries = data["practices"][code]["law"][country]
            assert entries, (code, country)
            for entry in entries:
                assert {"en", "ar", "ur", "ps", "fa"} <= set(entry), (code, country, entry)


def test_a_sulha_in_jordan_reads_jordanian_law_not_pakistani():
    law = law_for("woman-given-in-settlement", country=Forum.Country.JORDAN, language="en")
    cited = " ".join(law.national)
    assert "Jordan" in cited
    assert "Pakistan" not in cited
    assert law.international, "the international standard is cited everywhere"
    assert law.citations == [*law.national, *law.international]


@pytest.mark.parametrize("language", ["ur", "ar", "ps", "fa-af"])
def test_names_and_citations_come_in_the_readers_language(language):
    with translation.override(language):
        law = law_for("woman-given-in-settlement", country=Forum.Country.PAKISTAN)
    assert any("\u0600" <= ch <= "\u06ff" for ch in law.name), law.name
    assert all(any("\u0600" <= ch <= "\u06ff" for ch in c) for c in law.citations), law.citations
    english = law_for("woman-given-in-settlement", country=Forum.Country.PAKISTAN, language="en")
    assert law.name != english.name


@pytest.mark.django_db
def test_a_practice_the_file_does_not_know_falls_back_to_its_stored_name():
    from cases.models import ProhibitedPractice

    ProhibitedPractice.objects.create(
        code="new-practice", name="A practice added by an administrator", citations="Act 1\nAct 2"
    )
    law = law_for("new-practice", country=Forum.Country.PAKISTAN, language="ur")
    assert law.name == "A practice added by an administrator"
    assert law.citations == ["Act 1", "Act 2"]
