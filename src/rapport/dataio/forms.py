from __future__ import annotations

from typing import Any

from django import forms

from rapport.dataio import mapping
from rapport.dataio.choices import MatchOn
from rapport.dataio.models import ImportJob


class UploadForm(forms.Form):
    entity = forms.ChoiceField(label="Import", choices=mapping.IMPORT_ENTITIES)
    file = forms.FileField(
        help_text="CSV (any delimiter and encoding), Excel XLSX or vCard (.vcf)",
        allow_empty_file=False,
    )


class MappingForm(forms.Form):
    """One select per column of the file, the match key and an optional name to save under."""

    match_on = forms.ChoiceField(label="Find existing records by", choices=MatchOn.choices)
    save_as = forms.CharField(
        label="Save this mapping as", required=False, max_length=100,
        help_text="to reuse it for the next file from the same source",
    )  # fmt: skip

    def __init__(self, job: ImportJob, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.job = job
        options = mapping.choices(job.entity)
        for position, header in enumerate(job.headers):
            self.fields[f"col_{position}"] = forms.ChoiceField(
                label=header, choices=options, required=False,
                initial=job.columns.get(header, ""),
            )  # fmt: skip
        self.fields["match_on"].initial = job.match_on

    def columns(self) -> dict[str, str]:
        return {
            header: self.cleaned_data.get(f"col_{position}") or ""
            for position, header in enumerate(self.job.headers)
        }

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"col_{position}"] for position in range(len(self.job.headers))]
