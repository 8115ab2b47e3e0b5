"""Keyset pagination: core.pagination directly, then through the API.

Walking next (or previous) links must show every row exactly once, in the
promised order, with ties and NULLs in the sort key, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from rapport.core.pagination import KeysetPage, normalise_ordering, paginate
from rapport.users import services
from rapport.users.models import Team, User
from tests.factories import TeamFactory, UserFactory

T0 = datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)
# name, last_login (minutes after T0; None = never), team: ties and NULLs on purpose
ROWS: list[tuple[str, int | None, str | None]] = [
    ("bert", 5, "b"),
    ("anna", None, None),
    ("bert", None, "a"),
    ("carl", 5, "a"),
    ("anna", 1, "b"),
    ("bert", 5, None),
    ("dora", None, "a"),
    ("anna", 1, "a"),
    ("carl", 0, None),
    ("bert", 9, "b"),
    ("emil", None, None),
    ("anna", 5, "a"),
    ("dora", 1, "b"),
]

ORDERINGS = [
    ("full_name",),
    ("-full_name",),
    ("last_login",),
    ("-last_login",),
    ("full_name", "-last_login"),
    ("-last_login", "full_name"),
    ("last_login", "-full_name"),
    ("team",),
    ("-team", "last_login"),
    ("-id",),
    (),
]


@pytest.fixture
def people(db: None) -> QuerySet[User]:
    teams = {"a": TeamFactory(name="a"), "b": TeamFactory(name="b")}
    for number, (name, minutes, team) in enumerate(ROWS):
        UserFactory(
            email=f"page{number}@example.com",
            full_name=name,
            last_login=None if minutes is None else T0 + timedelta(minutes=minutes),
            team=None if team is None else teams[team],
        )
    return User.objects.filter(email__startswith="page")


def expected_order(queryset: QuerySet[User], ordering: Sequence[str]) -> list[int]:
    """The promised order, worked out in Python: NULLs last ascending, first descending."""
    rows = list(queryset)
    terms = [*ordering, "-pk" if ordering and ordering[-1].startswith("-") else "pk"]
    for term in reversed(terms):
        name = term.removeprefix("-")
        attribute = "pk" if name == "pk" else User._meta.get_field(name).attname

        def key(row: User, attribute: str = attribute) -> tuple[bool, Any]:
            value = getattr(row, attribute)
            return (value is None, value if value is not None else 0)

        rows.sort(key=key, reverse=term.startswith("-"))
    return [row.pk for row in rows]


def walk_forward(
    queryset: QuerySet[User], ordering: Sequence[str], limit: int
) -> list[KeysetPage[User]]:
    pages = [paginate(queryset, ordering=ordering, cursor=None, limit=limit)]
    while pages[-1].next_cursor is not None:
        pages.append(
            paginate(queryset, ordering=ordering, cursor=pages[-1].next_cursor, limit=limit)
        )
        assert len(pages) <= len(ROWS) + 1, "the walk does not end"
    return pages


def walk_back(
    queryset: QuerySet[User], ordering: Sequence[str], limit: int, last: KeysetPage[User]
) -> list[KeysetPage[User]]:
    pages = [last]
    while pages[-1].previous_cursor is not None:
        pages.append(
            paginate(queryset, ordering=ordering, cursor=pages[-1].previous_cursor, limit=limit)
        )
        assert len(pages) <= len(ROWS) + 1, "the walk does not end"
    return pages


def pks(page: KeysetPage[User]) -> list[int]:
    return [row.pk for row in page.items]


@pytest.fixture
def api_for() -> Callable[[User], APIClient]:
    """conftest's ``api_for``, minus the tokens ``authenticate_token`` cannot read yet.

    It splits secrets on every "_", which about half of all token_urlsafe()
    secrets contain (reported with the fix: ``split("_", 2)``); until that is
    fixed, these tests take a token without one so that they do not fail at random.
    """

    def make(user: User) -> APIClient:
        issued = services.create_api_token(actor=user, name="tests")
        while issued.secret.count("_") != 2:
            issued.token.delete()
            issued = services.create_api_token(actor=user, name="tests")
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
        return api

    return make


# --- core.pagination ------------------------------------------------------------------


@pytest.mark.parametrize("ordering", ORDERINGS, ids=lambda o: ",".join(o) or "default")
@pytest.mark.parametrize("limit", [1, 3, 5, 50])
def test_walking_both_ways_shows_every_row_once_in_order(
    people: QuerySet[User], ordering: tuple[str, ...], limit: int
) -> None:
    expected = expected_order(people, ordering)
    forward = walk_forward(people, ordering, limit)
    seen = [pk for page in forward for pk in pks(page)]
    assert seen == expected
    assert all(len(page.items) == limit for page in forward[:-1])
    assert forward[0].previous_cursor is None
    assert forward[-1].next_cursor is None
    assert all(page.has_next and page.has_previous for page in forward[1:-1])

    backward = walk_back(people, ordering, limit, forward[-1])
    assert [pks(page) for page in backward] == [pks(page) for page in reversed(forward)]
    first_again = backward[-1]
    assert first_again.previous_cursor is None
    assert (first_again.next_cursor is None) == (len(forward) == 1)


@pytest.mark.django_db
def test_nulls_sort_last_ascending_and_first_descending(people: QuerySet[User]) -> None:
    never = set(people.filter(last_login=None).values_list("pk", flat=True))
    ascending = pks(paginate(people, ordering=["last_login"], cursor=None, limit=50))
    descending = pks(paginate(people, ordering=["-last_login"], cursor=None, limit=50))
    assert set(ascending[-len(never) :]) == never
    assert set(descending[: len(never)]) == never
    assert ascending == list(reversed(descending))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("ordering", "bound"),
    [
        (["full_name"], '"full_name" >= '),  # cannot be NULL: entered at the cursor
        (["-last_login", "full_name"], '"last_login" <= '),  # NULLs come first: none after
        (["last_login", "full_name"], None),  # NULLs come last: a range would drop them
    ],
)
def test_a_later_page_enters_the_first_sort_key_at_the_cursor(
    people: QuerySet[User], ordering: list[str], bound: str | None
) -> None:
    # SQLite cannot seek an index with the OR of "after the cursor" conditions alone; a
    # plain range on the first key beside it lets a deep page start at the cursor.
    # Past the four people who never logged in, so the cursor holds a value.
    first = paginate(people, ordering=ordering, cursor=None, limit=5)
    with CaptureQueriesContext(connection) as asked:
        paginate(people, ordering=ordering, cursor=first.next_cursor, limit=3)
    where = asked.captured_queries[0]["sql"].split(" WHERE ", 1)[1]
    if bound is None:
        assert '"last_login" >= ' not in where
    else:
        assert bound in where


@pytest.mark.django_db
def test_an_empty_list_has_one_empty_page(people: QuerySet[User]) -> None:
    nobody = people.filter(full_name="zoe")
    page = paginate(nobody, ordering=["full_name"], cursor=None, limit=10)
    assert page.items == []
    assert (page.next_cursor, page.previous_cursor) == (None, None)
    # a cursor into a list that has become empty is an empty page, not an error
    cursor = paginate(people, ordering=["full_name"], cursor=None, limit=2).next_cursor
    assert paginate(nobody, ordering=["full_name"], cursor=cursor, limit=10).items == []


@pytest.mark.django_db
def test_one_page_has_no_links(people: QuerySet[User]) -> None:
    page = paginate(people, ordering=["full_name"], cursor=None, limit=len(ROWS))
    assert len(page.items) == len(ROWS)
    assert (page.next_cursor, page.previous_cursor) == (None, None)


@pytest.mark.django_db
def test_rows_added_or_removed_meanwhile_neither_repeat_nor_skip(people: QuerySet[User]) -> None:
    """The next page starts after the last row seen, whatever happened before it."""
    ordering = ["full_name", "-last_login"]
    first = paginate(people, ordering=ordering, cursor=None, limit=4)
    shown = pks(first)
    User.objects.filter(pk=shown[0]).delete()
    UserFactory(email="page-new@example.com", full_name="aaron")  # sorts before the cursor
    rest = expected_order(people, ordering)
    rest = rest[rest.index(shown[-1]) + 1 :]
    second = paginate(people, ordering=ordering, cursor=first.next_cursor, limit=50)
    assert pks(second) == rest


@pytest.mark.django_db
@pytest.mark.parametrize("limit", [1, 5, 50])
def test_each_page_is_one_query_whatever_its_size(
    people: QuerySet[User], limit: int, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        first = paginate(people, ordering=["-last_login", "full_name"], cursor=None, limit=limit)
    with django_assert_num_queries(1):
        paginate(people, ordering=["-last_login", "full_name"], cursor=first.next_cursor, limit=2)


@pytest.mark.django_db
def test_ordering_gets_the_primary_key_as_tie_breaker() -> None:
    assert normalise_ordering(User, []) == ["pk"]
    assert normalise_ordering(User, ["full_name"]) == ["full_name", "pk"]
    assert normalise_ordering(User, ["full_name", "-last_login"]) == [
        "full_name",
        "-last_login",
        "-pk",
    ]
    assert normalise_ordering(User, ["email", "id"]) == ["email", "id"]
    for wrong in (["--full_name"], ["team__name"], ["nonsense"], ["groups"], ["email", "email"]):
        with pytest.raises(ValidationError):
            normalise_ordering(User, wrong)


def craft(payload: Any) -> str:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


ORDER = ["last_login", "pk"]
BAD_CURSORS = {
    "not base64 json": "!!!not-a-cursor",
    "json but a list": craft([1, 2]),
    "another sort order": craft({"o": ["full_name", "pk"], "v": ["anna", 1], "b": False}),
    "values missing": craft({"o": ORDER, "v": [None], "b": False}),
    "direction not a flag": craft({"o": ORDER, "v": [None, 1], "b": "yes"}),
    "not a date": craft({"o": ORDER, "v": ["yesterday", 1], "b": False}),
    "a number for a date": craft({"o": ORDER, "v": [5, 1], "b": False}),
    "an object for a date": craft({"o": ORDER, "v": [{"a": 1}, 1], "b": False}),
    "a list for an id": craft({"o": ORDER, "v": [None, [1]], "b": False}),
    "an id out of range": craft({"o": ORDER, "v": [None, 10**30], "b": False}),
    "infinity": craft('{"o": ["last_login", "pk"], "v": [null, Infinity], "b": false}'),
    "not a number": craft('{"o": ["last_login", "pk"], "v": [null, NaN], "b": false}'),
    "bad unicode": base64.urlsafe_b64encode(b"\xff\xfe{").decode(),
}


@pytest.mark.django_db
@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
def test_a_cursor_that_is_not_ours_is_refused(people: QuerySet[User], cursor: str) -> None:
    with pytest.raises(ValidationError, match="cursor is invalid"):
        paginate(people, ordering=["last_login"], cursor=cursor, limit=5)


@pytest.mark.django_db
def test_a_cursor_only_fits_the_order_it_was_made_for(people: QuerySet[User]) -> None:
    by_name = paginate(people, ordering=["full_name"], cursor=None, limit=2)
    with pytest.raises(ValidationError):
        paginate(people, ordering=["-full_name"], cursor=by_name.next_cursor, limit=2)
    with pytest.raises(ValidationError):
        paginate(Team.objects.all(), ordering=["name"], cursor=by_name.next_cursor, limit=2)


# --- through the API -----------------------------------------------------------------


@pytest.fixture
def same_names(admin: User) -> list[User]:
    """23 colleagues with one name; a third never logged in, others share log-in times."""
    return [
        UserFactory(
            email=f"same{number:02}@example.com",
            full_name="Same Name",
            last_login=None if number % 3 == 0 else T0 + timedelta(hours=number % 4),
        )
        for number in range(23)
    ]


def follow(api: Any, url: str, link: str) -> tuple[list[list[int]], dict[str, Any]]:
    """Follow ``link`` (next or previous) from ``url``; the ids per page and the last body."""
    pages: list[list[int]] = []
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([row["id"] for row in body["results"]])
        assert len(pages) <= 30, "the walk does not end"
        last = body
        url = body[link]
    return pages, last


@pytest.mark.django_db
@pytest.mark.parametrize(
    "ordering", ["full_name", "-full_name", "last_login", "-last_login", "-last_login,email"]
)
def test_api_links_walk_every_row_once_both_ways(
    api_for: Any, admin: User, same_names: list[User], ordering: str
) -> None:
    api = api_for(admin)
    queryset = User.objects.filter(full_name="Same Name")
    expected = expected_order(queryset, ordering.split(","))
    forward, last = follow(api, f"/api/v1/users?q=Same&limit=5&ordering={ordering}", "next")
    assert [pk for page in forward for pk in page] == expected
    assert [len(page) for page in forward] == [5, 5, 5, 5, 3]

    backward, first = follow(api, last["previous"], "previous")
    assert backward == list(reversed(forward[:-1]))
    assert first["previous"] is None
    query = parse_qs(urlsplit(first["next"]).query)
    assert query["limit"] == ["5"]
    assert query["q"] == ["Same"]
    assert query["ordering"] == [ordering]


@pytest.mark.django_db
def test_api_default_order_is_by_name(api_for: Any, read_only: User, admin: User) -> None:
    body = api_for(read_only).get("/api/v1/users?ordering=").json()
    assert [row["full_name"] for row in body["results"]] == ["Ada Admin", "Rex Reader"]
    assert body["next"] is None
    assert body["previous"] is None


def assert_error(response: Any, field: str) -> str:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert list(body["errors"]) == [field]
    assert body["errors"][field]
    assert all(isinstance(message, str) for message in body["errors"][field])
    assert field in body["detail"]
    return str(body["errors"][field][0])


@pytest.mark.django_db
@pytest.mark.parametrize("cursor", list(BAD_CURSORS.values())[:8], ids=list(BAD_CURSORS)[:8])
def test_api_refuses_bad_cursors(api_for: Any, admin: User, cursor: str) -> None:
    response = api_for(admin).get("/api/v1/users", {"cursor": cursor, "ordering": "last_login"})
    assert "cursor is invalid" in assert_error(response, "cursor")


@pytest.mark.django_db
def test_api_refuses_a_cursor_of_another_order(
    api_for: Any, admin: User, same_names: list[User]
) -> None:
    api = api_for(admin)
    next_link = api.get("/api/v1/users?limit=2&ordering=email").json()["next"]
    cursor = parse_qs(urlsplit(next_link).query)["cursor"][0]
    response = api.get("/api/v1/users", {"cursor": cursor, "ordering": "-email", "limit": 2})
    assert_error(response, "cursor")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "ordering", ["password", "team__name", "--full_name", "full_name,-full_name", "is_staff"]
)
def test_api_refuses_orderings_it_does_not_offer(api_for: Any, admin: User, ordering: str) -> None:
    response = api_for(admin).get("/api/v1/users", {"ordering": ordering})
    message = assert_error(response, "ordering")
    assert "full_name" in message or "once" in message


@pytest.mark.django_db
@pytest.mark.parametrize("limit", ["0", "501", "-3", "ten", "2.5", ""])
def test_api_refuses_page_sizes_out_of_range(api_for: Any, admin: User, limit: str) -> None:
    assert_error(api_for(admin).get("/api/v1/users", {"limit": limit}), "limit")


@pytest.mark.django_db
def test_api_largest_page_size_is_allowed(api_for: Any, admin: User) -> None:
    assert api_for(admin).get("/api/v1/users?limit=500").status_code == 200


@pytest.mark.django_db
def test_api_queries_per_page_do_not_grow_with_page_size(
    api_for: Any, admin: User, same_names: list[User], team_north: Team
) -> None:
    User.objects.filter(full_name="Same Name").update(team=team_north)
    api = api_for(admin)
    api.get("/api/v1/me")  # stamps the token's last use, which happens once a minute
    counts = {}
    for limit in (2, 20):
        url = f"/api/v1/users?limit={limit}&ordering=-last_login"
        with CaptureQueriesContext(connection) as first:
            response = api.get(url)
        with CaptureQueriesContext(connection) as following:
            assert api.get(response.json()["next"]).status_code == 200
        counts[limit] = (len(first), len(following))
    assert counts[2] == counts[20]
    assert max(counts[2]) <= 3  # token + user, the page, nothing per row
