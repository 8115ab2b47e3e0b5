"""Reading CSV, XLSX and vCard files into a header and rows of text, refusing hostile files.

Every problem with the file itself (too big, binary, unknown encoding, a row
with too many columns, broken vCard folding) is a ``FileProblem`` with a
message a person can act on; nothing is written before a file is read whole
at least as far as its rows are imported.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Generator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from rapport.dataio.choices import FileFormat

SAMPLE_BYTES = 64 * 1024
# A valid UTF-8 multi-byte sequence: its presence in a file that does not decode
# as UTF-8 means a broken UTF-8 file, not a file in another encoding.
UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
VCARD_COLUMNS = (
    "First name", "Last name", "Full name", "E-mail", "E-mail 2", "Phone", "Phone 2",
    "Company", "Job title", "Birthday", "Notes", "External id", "Tags",
)  # fmt: skip


def max_file_bytes() -> int:
    return int(getattr(settings, "DATAIO_MAX_FILE_BYTES", 200 * 1024 * 1024))


def max_columns() -> int:
    return int(getattr(settings, "DATAIO_MAX_COLUMNS", 500))


MAX_CELL_CHARS = 100_000


class FileProblem(Exception):
    """The file cannot be imported as it is; the message says why and what to do."""


@dataclass
class Table:
    file_format: str
    headers: list[str]
    # (line in the file, header = 1; cells as many as headers, padded or cut)
    rows: Generator[tuple[int, list[str]]]
    encoding: str = ""
    delimiter: str = ""


def detect_format(name: str, head: bytes) -> str:
    lower = name.lower()
    if head.startswith(b"PK\x03\x04") or lower.endswith((".xlsx", ".xlsm")):
        return FileFormat.XLSX
    if lower.endswith((".vcf", ".vcard")) or head.lstrip(b"\xef\xbb\xbf \r\n").upper().startswith(
        b"BEGIN:VCARD"
    ):
        return FileFormat.VCARD
    return FileFormat.CSV


def open_table(path: Path | str, name: str | None = None) -> Table:
    """The file at ``path`` as a table, or ``FileProblem``."""
    path = Path(path)
    size = path.stat().st_size
    limit = max_file_bytes()
    if size > limit:
        raise FileProblem(
            f"The file is {size / 1024 / 1024:,.0f} MB; imports take at most "
            f"{limit / 1024 / 1024:,.0f} MB. Split it into smaller files."
        )
    if size == 0:
        raise FileProblem("The file is empty.")
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    file_format = detect_format(name or path.name, head)
    if file_format == FileFormat.XLSX:
        return _xlsx(path)
    encoding = detect_encoding(head)
    if file_format == FileFormat.VCARD:
        return _vcard(path, encoding)
    return _csv(path, head, encoding)


def detect_encoding(head: bytes) -> str:
    if b"\x00" in head:
        raise FileProblem(
            "This is not a text file (it contains binary data). "
            "Save it as CSV (UTF-8), XLSX or vCard and try again."
        )
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a sequence cut at the sample's end is fine
    except UnicodeDecodeError as error:
        if UTF8_SEQUENCE.search(head):
            line = head[: error.start].count(b"\n") + 1
            raise FileProblem(
                f"The file is UTF-8 but has invalid bytes on line {line}. "
                "Fix or re-save it as UTF-8."
            ) from None
    else:
        return "utf-8"
    from charset_normalizer import from_bytes

    matches = list(from_bytes(head))
    if not matches:
        raise FileProblem(
            "Cannot tell the file's text encoding. Save it as CSV UTF-8 and try again."
        )
    best = matches[0].encoding
    # Short samples fit several single-byte code pages equally well; among the
    # equally good ones prefer the Western one (the file of a spreadsheet saved on
    # Windows or an old Mac), as people who bring Latin-1/Windows-1252 files expect.
    tied = {m.encoding for m in matches if m.chaos <= matches[0].chaos}
    preferred = getattr(settings, "DATAIO_FALLBACK_ENCODING", "cp1252")
    if preferred in tied or {"latin_1", "iso8859_15"} & tied:
        best = preferred
    if best in {"cp1252", "latin_1"}:
        # 0x81, 0x8d, 0x8f, 0x90, 0x9d are undefined in cp1252: then it really is Latin-1.
        return "latin-1" if _has_c1_controls_only(head) else "cp1252"
    return best


def _has_c1_controls_only(head: bytes) -> bool:
    return any(byte in head for byte in (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d"))


def _text(path: Path, encoding: str) -> IO[str]:
    return io.TextIOWrapper(path.open("rb"), encoding=encoding, errors="strict", newline="")


def _csv(path: Path, head: bytes, encoding: str) -> Table:
    sample = head.decode(encoding, errors="ignore")
    # Only whole lines: a cut last line would mislead the sniffer.
    if len(head) == SAMPLE_BYTES and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    csv.field_size_limit(max(MAX_CELL_CHARS, 1))
    handle = _text(path, encoding)
    reader = csv.reader(handle, dialect)
    table = Table(FileFormat.CSV, [], _nothing(), encoding, getattr(dialect, "delimiter", ","))
    try:
        headers = _clean_headers(next(reader))
    except StopIteration:
        handle.close()
        raise FileProblem("The file has no header row.") from None
    except (csv.Error, UnicodeDecodeError) as error:
        handle.close()
        raise FileProblem(_csv_problem(error, 1, encoding)) from None
    table.headers = headers

    def rows() -> Generator[tuple[int, list[str]]]:
        try:
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except (csv.Error, UnicodeDecodeError) as error:
                    raise FileProblem(_csv_problem(error, reader.line_num + 1, encoding)) from None
                if not any(cell.strip() for cell in row):
                    continue
                yield reader.line_num, _fit(row, len(headers), reader.line_num)
        finally:
            handle.close()

    table.rows = rows()
    return table


def _nothing() -> Generator[tuple[int, list[str]]]:
    yield from ()


def _csv_problem(error: Exception, line: int, encoding: str) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"Line {line} is not valid {encoding} text. Re-save the file as UTF-8 and try again."
    if "field larger than field limit" in str(error):
        return f"Line {line} has a cell longer than {MAX_CELL_CHARS:,} characters."
    return f"Line {line} cannot be read as CSV: {error}."


def _clean_headers(raw: list[Any]) -> list[str]:
    if len(raw) > max_columns():
        raise FileProblem(
            f"The header row has {len(raw):,} columns; imports take at most {max_columns()}."
        )
    headers = [str(cell or "").strip().lstrip("\ufeff") for cell in raw]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise FileProblem("The header row is empty: the first row must name the columns.")
    seen: dict[str, int] = {}
    unique = []
    for index, header in enumerate(headers):
        header = header or f"Column {index + 1}"
        if header in seen:
            seen[header] += 1
            header = f"{header} ({seen[header]})"
        else:
            seen[header] = 1
        unique.append(header)
    return unique


def _fit(row: list[str], width: int, line: int) -> list[str]:
    if len(row) > max_columns():
        raise FileProblem(
            f"Line {line} has {len(row):,} columns; imports take at most {max_columns()}."
        )
    if len(row) < width:
        return row + [""] * (width - len(row))
    return row[:width]


# --- XLSX --------------------------------------------------------------------------


def _xlsx(path: Path) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise FileProblem(f"This is not a readable Excel (XLSX) file: {error}.") from None
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        workbook.close()
        raise FileProblem("The workbook has no sheet.")
    declared = sheet.max_column or 0
    if declared > max_columns():
        workbook.close()
        raise FileProblem(
            f"The sheet has {declared:,} columns; imports take at most {max_columns()}."
        )
    cells = sheet.iter_rows(values_only=True)
    try:
        headers = _clean_headers(list(next(cells)))
    except StopIteration:
        workbook.close()
        raise FileProblem("The sheet is empty: the first row must name the columns.") from None
    table = Table(FileFormat.XLSX, headers, _nothing())

    def rows() -> Generator[tuple[int, list[str]]]:
        try:
            for number, values in enumerate(cells, start=2):
                row = [_cell_text(value) for value in values]
                if not any(cell.strip() for cell in row):
                    continue
                yield number, _fit(row, len(headers), number)
        finally:
            workbook.close()

    table.rows = rows()
    return table


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- vCard -------------------------------------------------------------------------


def _vcard(path: Path, encoding: str) -> Table:
    import vobject

    try:
        text = path.read_text(encoding=encoding)
    except UnicodeDecodeError as error:
        raise FileProblem(
            f"The vCard file is not valid {encoding} text ({error.reason})."
        ) from None
    try:
        cards = list(vobject.readComponents(text, validate=False))
    except Exception as error:  # vobject raises ParseError and plain errors for broken input
        line = getattr(error, "lineNumber", None)
        where = f" near line {line}" if line else ""
        raise FileProblem(
            f"The vCard file cannot be read{where}: {error}. "
            "Check that long lines are folded with a space at the start of the next line."
        ) from None
    rows = []
    for card in cards:
        if getattr(card, "name", "").upper() != "VCARD":
            raise FileProblem(f"Expected BEGIN:VCARD, found BEGIN:{card.name}.")
        rows.append(_card_row(card))

    # The n-th card counts as row n+1, as if the cards were a sheet under a header.
    def each() -> Generator[tuple[int, list[str]]]:
        yield from enumerate(rows, start=2)

    return Table(FileFormat.VCARD, list(VCARD_COLUMNS), each(), encoding)


def _card_row(card: Any) -> list[str]:
    def values(name: str) -> list[Any]:
        return [line.value for line in card.contents.get(name, [])]

    first = last = ""
    names = values("n")
    if names and hasattr(names[0], "given"):
        first = _joined(names[0].given)
        last = _joined(names[0].family)
    full = str(values("fn")[0]) if values("fn") else ""
    emails = [str(value).strip() for value in values("email")]
    phones = [str(value).strip().removeprefix("tel:") for value in values("tel")]
    org = values("org")
    company = (
        _joined(org[0][0])
        if org and isinstance(org[0], list) and org[0]
        else str(org[0])
        if org
        else ""
    )
    title = str(values("title")[0]) if values("title") else ""
    birthday = str(values("bday")[0]) if values("bday") else ""
    note = str(values("note")[0]) if values("note") else ""
    uid = str(values("uid")[0]) if values("uid") else ""
    categories = values("categories")
    tags = (
        "; ".join(str(tag) for tag in categories[0])
        if categories and isinstance(categories[0], list)
        else ""
    )
    return [
        # FN is required in vCard; a card without a name carries its e-mail there.
        first, last, "" if first or last or full in emails else full,
        emails[0] if emails else "", emails[1] if len(emails) > 1 else "",
        phones[0] if phones else "", phones[1] if len(phones) > 1 else "",
        company, title, _vcard_date(birthday), note, uid, tags,
    ]  # fmt: skip


def _joined(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(part) for part in value if part)
    return str(value or "")


def _vcard_date(raw: str) -> str:
    """vCard 4.0 writes 19800131 or 1980-01-31; the import reads ISO dates."""
    raw = raw.strip()
    if re.fullmatch(r"\d{8}", raw):
        return f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"
    return raw[:10] if re.match(r"\d{4}-\d{2}-\d{2}", raw) else raw
