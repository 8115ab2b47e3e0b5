"""The search index: one document per searchable record, and the vocabulary of names."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class SearchDocument(models.Model):
    """What global search matches for one record.

    ``keys`` holds normalised tokens (names, e-mail parts, domains, phone
    digits). SQLite indexes it with FTS5 (a virtual table kept in step by
    triggers), PostgreSQL with a GIN index on its ``simple`` tsvector.
    """

    kind = models.CharField(max_length=20)
    object_id = models.BigIntegerField()
    title = models.CharField(max_length=300)
    subtitle = models.CharField(max_length=300, blank=True)
    keys = models.TextField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="search_document_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}: {self.title}"


class SearchTerm(models.Model):
    """Every distinct word of indexed names: the dictionary typo tolerance searches."""

    term = models.CharField(max_length=100, unique=True)

    def __str__(self) -> str:
        return self.term
