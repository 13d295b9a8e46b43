"""The read log is append-only: PostgreSQL refuses to change or delete a read, whoever asks."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from audit import services as audit
from audit.models import ReadRecord

pytestmark = pytest.mark.usefixtures("postgres")


@pytest.fixture
def read(scene) -> ReadRecord:
    return audit.read_record(user=scene.world.bob, kind="case", case_id=scene.case.pk, ip="192.0.2.1", door="page")


def test_a_read_cannot_be_changed(read):
    with pytest.raises(DatabaseError, match="Cannot update or delete"), transaction.atomic():
        ReadRecord.objects.filter(pk=read.pk).update(user=read.user.pk, ip="192.0.2.99")
    read.refresh_from_db()
    assert read.ip == "192.0.2.1"


def test_a_read_cannot_be_deleted(read):
    with pytest.raises(DatabaseError, match="Cannot update or delete"), transaction.atomic():
        ReadRecord.objects.filter(pk=read.pk).delete()
    assert ReadRecord.objects.filter(pk=read.pk).exists()


def test_not_even_in_raw_sql(read):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_readrecord")
    assert ReadRecord.objects.count() == 1


def test_a_user_who_read_something_is_deactivated_not_deleted(read):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError), transaction.atomic():
        read.user.delete()
