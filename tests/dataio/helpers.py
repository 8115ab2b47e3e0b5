"""Build files and run imports the way the web page and the command do."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rapport.dataio import services
from rapport.dataio.models import ImportJob
from rapport.users.models import User


def csv_bytes(rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def upload(
    actor: User | None, content: bytes, *, name: str = "people.csv", entity: str = "contacts"
) -> ImportJob:
    return services.start_import(actor, entity=entity, upload=io.BytesIO(content), filename=name)


def run(
    actor: User | None,
    content: bytes,
    *,
    name: str = "people.csv",
    entity: str = "contacts",
    columns: dict[str, str] | None = None,
    match_on: str | None = None,
    dry_run: bool = False,
) -> ImportJob:
    """Upload, map (the proposal unless told), and run in this process."""
    job = upload(actor, content, name=name, entity=entity)
    services.set_mapping(
        actor, job, columns if columns is not None else job.columns,
        match_on=match_on or job.match_on,
    )  # fmt: skip
    job.dry_run = dry_run
    job.save(update_fields=["dry_run"])
    return services.run_import(job)


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path
