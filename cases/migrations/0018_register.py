"""Paper registers brought in: a case's number in its forum's register, unique per forum where there is one."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cases", "0017_settlement")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="register_no",
            field=models.CharField(blank=True, max_length=40, null=True, verbose_name="register number"),
        ),
        migrations.AddConstraint(
            model_name="case",
            constraint=models.UniqueConstraint(
                condition=models.Q(("register_no__isnull", False)),
                fields=("forum", "register_no"),
                name="case_register_no_unique_per_forum",
            ),
        ),
    ]
