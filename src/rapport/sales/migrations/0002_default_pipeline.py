"""The pipeline every Rapport starts with; removed again only if no deal uses it."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.utils import timezone

STAGES = (
    ("Qualification", 10, "open"),
    ("Needs analysis", 25, "open"),
    ("Proposal", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
)


def create_default(apps: Any, schema_editor: Any) -> None:
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    if Pipeline.objects.exists():
        return
    now = timezone.now()
    pipeline = Pipeline.objects.create(
        name="Sales", is_default=True, position=1, created_at=now, updated_at=now
    )
    for position, (name, probability, kind) in enumerate(STAGES, start=1):
        Stage.objects.create(
            pipeline=pipeline,
            name=name,
            position=position,
            probability=probability,
            kind=kind,
            created_at=now,
            updated_at=now,
        )


def remove_default(apps: Any, schema_editor: Any) -> None:
    Pipeline = apps.get_model("sales", "Pipeline")
    Deal = apps.get_model("sales", "Deal")
    for pipeline in Pipeline.objects.filter(name="Sales", is_default=True):
        if not Deal.objects.filter(pipeline=pipeline).exists():
            pipeline.delete()


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_pipelines_deals_targets")]

    operations = [migrations.RunPython(create_default, remove_default)]
