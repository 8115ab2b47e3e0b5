"""The search index behind global search: prefix matching plus typo tolerance.

One service for both databases. Each searchable record has one
``SearchDocument`` whose ``keys`` are normalised tokens. A query matches
documents whose tokens start with every query token (SQLite FTS5 with prefix
indexes, PostgreSQL ``to_tsvector('simple')`` with ``:*`` prefixes); if that
finds too little, each name-like query token is widened with the dictionary
words within a small Damerau-Levenshtein distance (one typo for short words,
two for long), so "Jonh Smtih" finds John Smith. PostgreSQL finds dictionary
candidates with pg_trgm; SQLite with rapidfuzz over the in-memory dictionary.
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models.functions import Length
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from rapport.search.models import SearchDocument, SearchTerm

TOKEN = re.compile(r"[a-z0-9]+")
PHONE_QUERY = re.compile(r"^\+?[\d\s().\-/]{4,}$")
DICTIONARY_TTL_SECONDS = 60
MAX_EXPANSIONS = 8
# Past this many matches a query's results are not ranked (see ``_match``).
RANKED_AT_MOST = 2000


@dataclass(frozen=True)
class Document:
    kind: str
    object_id: int
    title: str
    subtitle: str = ""
    keys: Sequence[str] = ()
    # Words people misspell (names): they go into the typo dictionary.
    words: Sequence[str] = field(default=())


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def tokens(text: str) -> list[str]:
    return TOKEN.findall(normalise(text))


def email_keys(email: str) -> list[str]:
    """``jo.doe@acme.com`` → jo, doe, jodoe, acme, com: found by any part or the whole."""
    local, _, domain = normalise(email).partition("@")
    parts = tokens(local)
    return [*parts, "".join(parts), *tokens(domain)]


def phone_keys(e164: str, national: str = "") -> list[str]:
    """+4930123456 → 4930123456 and the national forms 30123456, 030123456."""
    digits = "".join(TOKEN.findall(e164))
    keys = [digits]
    if national:
        keys += [national, f"0{national}"]
    return keys


# --- writing -----------------------------------------------------------------------


def index(documents: Iterable[Document]) -> None:
    """Insert or replace the documents (call inside the write's transaction)."""
    documents = list(documents)
    if not documents:
        return
    with transaction.atomic():
        for document in documents:
            SearchDocument.objects.update_or_create(
                kind=document.kind,
                object_id=document.object_id,
                defaults={
                    "title": document.title[:300],
                    "subtitle": document.subtitle[:300],
                    "keys": " ".join(dict.fromkeys(document.keys)),
                },
            )
        _remember_words(word for document in documents for word in document.words)


def bulk_index(documents: Sequence[Document], *, batch_size: int = 2000) -> None:
    """Index many new documents at once (demo data, imports, rebuilds)."""
    rows = [
        SearchDocument(
            kind=d.kind,
            object_id=d.object_id,
            title=d.title[:300],
            subtitle=d.subtitle[:300],
            keys=" ".join(dict.fromkeys(d.keys)),
        )
        for d in documents
    ]
    with transaction.atomic():
        SearchDocument.objects.bulk_create(rows, batch_size=batch_size)
        _remember_words(word for document in documents for word in document.words)


def remove(kind: str, object_ids: Iterable[int]) -> None:
    SearchDocument.objects.filter(kind=kind, object_id__in=list(object_ids)).delete()


def clear(kind: str) -> None:
    SearchDocument.objects.filter(kind=kind).delete()


def _remember_words(words: Iterable[str]) -> None:
    fresh = {word for raw in words for word in tokens(raw) if len(word) >= 3 and word.isalpha()}
    if fresh:
        SearchTerm.objects.bulk_create(
            [SearchTerm(term=word[:100]) for word in sorted(fresh)],
            ignore_conflicts=True,
            batch_size=2000,
        )


# --- reading -----------------------------------------------------------------------


def find(kind: str, text: str, *, limit: int) -> list[int]:
    """Object ids of ``kind`` matching ``text``, best first (exact prefixes before typos)."""
    query = query_tokens(text)
    if not query:
        return []
    found = _match(kind, [[token] for token in query], limit)
    if len(found) >= limit or _is_exact(text):
        return found
    widened = [[token, *similar_words(token)] for token in query]
    if all(len(group) == 1 for group in widened):
        return found
    extra = [object_id for object_id in _match(kind, widened, limit) if object_id not in found]
    return (found + extra)[:limit]


def _is_exact(text: str) -> bool:
    """E-mail addresses and phone numbers are typed or pasted whole: no typo widening.

    Widening them cost a second, much wider full-text query on every such search.
    """
    return "@" in text or bool(PHONE_QUERY.match(text.strip()))


def query_tokens(text: str) -> list[str]:
    text = text.strip()
    if PHONE_QUERY.match(text):
        digits = "".join(TOKEN.findall(text))
        return [digits.lstrip("0") or digits]
    return tokens(text)[:8]


def similar_words(token: str) -> list[str]:
    """Dictionary words one typo away (two for words of eight letters or more)."""
    if len(token) < 3 or not token.isalpha():
        return []
    allowed = 1 if len(token) < 8 else 2
    postgres = connection.vendor == "postgresql"
    candidates = _trigram_candidates(token) if postgres else _dictionary()
    matches = process.extract(
        token,
        candidates,
        scorer=DamerauLevenshtein.distance,
        score_cutoff=allowed,
        limit=MAX_EXPANSIONS + 1,
    )
    return [word for word, _, _ in sorted(matches, key=lambda m: m[1]) if word != token][
        :MAX_EXPANSIONS
    ]


def _match(kind: str, groups: list[list[str]], limit: int) -> list[int]:
    """Documents where every group has a token that a document token starts with
    (the first of each group, the query's own) or equals (the typo alternatives).

    Best first while the matches are few. A common prefix ("mül", "an") matches tens
    of thousands of documents, and ranking them all cost 150 ms at 1,000,000
    contacts; among so many equal prefix matches the rank says little, so past
    ``RANKED_AT_MOST`` matches the first ones found are returned unranked, and when
    nothing matches there is nothing to rank.
    """
    found = _search(kind, groups, RANKED_AT_MOST, ranked=False)
    if len(found) >= RANKED_AT_MOST or not found:
        return found[:limit]
    return _search(kind, groups, limit, ranked=True)


def _search(kind: str, groups: list[list[str]], limit: int, *, ranked: bool) -> list[int]:
    """Object ids of the matches: best first, or unranked in the index's own order."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            expression = _tsquery(groups)
            order = (
                "ORDER BY ts_rank(to_tsvector('simple', keys), to_tsquery('simple', %s)) DESC, id "
                if ranked
                else ""
            )
            cursor.execute(
                "SELECT object_id FROM search_searchdocument "  # noqa: S608 - fixed texts only
                "WHERE kind = %s AND to_tsvector('simple', keys) @@ to_tsquery('simple', %s) "
                f"{order}LIMIT %s",
                [kind, expression, *([expression] if ranked else []), limit],
            )
        else:
            order = "ORDER BY f.rank " if ranked else ""
            cursor.execute(
                "SELECT d.object_id FROM search_fts f "  # noqa: S608 - fixed texts only
                "JOIN search_searchdocument d ON d.id = f.rowid "
                f"WHERE search_fts MATCH %s AND d.kind = %s {order}LIMIT %s",
                [_fts5_query(groups), kind, limit],
            )
        return [row[0] for row in cursor.fetchall()]


def _tsquery(groups: list[list[str]]) -> str:
    return " & ".join("(" + " | ".join([f"{group[0]}:*", *group[1:]]) + ")" for group in groups)


def _fts5_query(groups: list[list[str]]) -> str:
    return " AND ".join(
        "(" + " OR ".join([f'"{group[0]}"*', *(f'"{word}"' for word in group[1:])]) + ")"
        for group in groups
    )


def _trigram_candidates(token: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT term FROM search_searchterm WHERE term %% %s "
            "ORDER BY similarity(term, %s) DESC LIMIT 200",
            [token, token],
        )
        words = [row[0] for row in cursor.fetchall()]
    # pg_trgm misses transpositions in short words ("smtih", "rsaova"): add the words
    # with the same first letter and about the same length.
    words += list(
        SearchTerm.objects.annotate(size=Length("term"))
        .filter(term__startswith=token[:1], size__gte=len(token) - 2, size__lte=len(token) + 2)
        .values_list("term", flat=True)[:2000]
    )
    return words


_dictionary_lock = threading.Lock()
_dictionary_cache: tuple[float, list[str]] = (0.0, [])


def _dictionary() -> list[str]:
    """All dictionary words, cached per process for a minute (new names appear then)."""
    global _dictionary_cache
    loaded_at, words = _dictionary_cache
    if time.monotonic() - loaded_at < DICTIONARY_TTL_SECONDS and words:
        return words
    with _dictionary_lock:
        words = list(SearchTerm.objects.values_list("term", flat=True))
        _dictionary_cache = (time.monotonic(), words)
    return words


def forget_dictionary() -> None:
    """Drop the cached dictionary (tests, and after a bulk rebuild)."""
    global _dictionary_cache
    _dictionary_cache = (0.0, [])
