# Contact indexes for bulk writes: the single-column indexes on created_at,
# updated_at and the owner (made redundant by contact_created_idx,
# contact_updated_idx and contact_owner_idx) go, and the stage index covers live
# contacts only. The fields change in the migration state only: on SQLite an
# AlterField rebuilds the whole contacts table, where dropping the index is all
# that changes (the index names are Django's, the same on every database).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

DROPPED = [
    ("customers_contact_created_at_16e23f08", "customers_contact", "created_at"),
    ("customers_contact_updated_at_26e11a71", "customers_contact", "updated_at"),
    ("customers_contact_owner_id_2fff17f2", "customers_contact", "owner_id"),
    (
        "customers_historicalcontact_created_at_f48c34ab",
        "customers_historicalcontact",
        "created_at",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_list_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="contact",
            name="contact_stage_idx",
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["lifecycle_stage", "full_name", "id"],
                name="contact_live_stage_idx",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="contact",
                    name="created_at",
                    field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="updated_at",
                    field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                migrations.AlterField(
                    model_name="historicalcontact",
                    name="created_at",
                    field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    f'CREATE INDEX "{name}" ON "{table}" ("{column}")',
                )
                for name, table, column in DROPPED
            ],
        ),
    ]
