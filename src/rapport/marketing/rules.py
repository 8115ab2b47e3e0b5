"""Segment rules: a registry of rule kinds, validation of a rule tree, and one compiled query.

A rule tree is JSON::

    {"op": "and", "rules": [
        {"kind": "stage", "op": "is", "value": "customer"},
        {"op": "or", "rules": [{"kind": "tag", "op": "has", "value": "vip"}, ...]},
    ]}

Each rule kind declares its parameters (for the editor and for validation)
and turns validated parameters into a ``Q`` on ``Contact`` (plain lookups, or
subqueries shaped per database by ``_among``), so a whole segment is ONE SQL
query, whatever its size. Order rules read the trading summary that the trading
services keep exact (``trading.models.TradingSummary``).
Other apps add kinds with ``register_kind`` in their ``ready()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    DecimalField,
    Exists,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Lower
from django.db.models.lookups import Exact, GreaterThanOrEqual, IContains, LessThanOrEqual
from django.utils import timezone

MAX_DEPTH = 4
MAX_RULES = 50

Choices = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Param:
    """One input of a rule: ``choice`` (from ``choices``), ``text``, ``number`` or ``date``."""

    name: str
    label: str
    type: str = "text"
    choices: Callable[[], Choices] | None = None
    # Operators after which this parameter is not asked for (e.g. "is empty").
    unused_with: frozenset[str] = frozenset()

    def options(self) -> Choices:
        return list(self.choices()) if self.choices is not None else []


@dataclass(frozen=True)
class RuleKind:
    name: str
    label: str
    group: str
    params: tuple[Param, ...]
    compile: Callable[[Mapping[str, Any]], Q]
    # Extra checks across parameters; raise ValidationError with a message.
    check: Callable[[Mapping[str, Any]], None] | None = field(default=None)
    # "Any of these rules" (same kind, operators in ``any_ops``) as one condition,
    # e.g. stage IN (...), where an OR of each reads the table once per rule.
    compile_any: Callable[[Sequence[Mapping[str, Any]]], Q] | None = field(default=None)
    any_ops: frozenset[str] = frozenset()


_kinds: dict[str, RuleKind] = {}


def register_kind(kind: RuleKind) -> None:
    _kinds[kind.name] = kind


def kinds() -> list[RuleKind]:
    return list(_kinds.values())


def kind_named(name: str) -> RuleKind | None:
    return _kinds.get(name)


# --- validation -----------------------------------------------------------------


def empty_tree() -> dict[str, Any]:
    return {"op": "and", "rules": []}


def validate(tree: Any) -> dict[str, Any]:
    """The cleaned rule tree, or ValidationError under ``rules`` naming the bad rule."""
    counter = [0]
    errors: list[str] = []
    cleaned = _clean_group(tree, "1", 1, counter, errors)
    if errors:
        raise ValidationError({"rules": errors})
    return cleaned


def _clean_group(
    node: Any, where: str, depth: int, counter: list[int], errors: list[str]
) -> dict[str, Any]:
    if not isinstance(node, dict) or node.get("op") not in ("and", "or"):
        errors.append(f"Group {where}: needs an operator 'and' or 'or' and a list of rules.")
        return empty_tree()
    if depth > MAX_DEPTH:
        errors.append(f"Group {where}: groups nest at most {MAX_DEPTH} deep.")
        return empty_tree()
    children = node.get("rules", [])
    if not isinstance(children, list):
        errors.append(f"Group {where}: 'rules' must be a list.")
        return empty_tree()
    cleaned: list[dict[str, Any]] = []
    for index, child in enumerate(children, start=1):
        position = f"{where}.{index}"
        if isinstance(child, dict) and "rules" in child:
            cleaned.append(_clean_group(child, position, depth + 1, counter, errors))
            continue
        counter[0] += 1
        if counter[0] > MAX_RULES:
            errors.append(f"A segment has at most {MAX_RULES} rules.")
            break
        rule = _clean_rule(child, position, errors)
        if rule is not None:
            cleaned.append(rule)
    return {"op": node["op"], "rules": cleaned}


def _clean_rule(node: Any, where: str, errors: list[str]) -> dict[str, Any] | None:
    if not isinstance(node, dict):
        errors.append(f"Rule {where}: must be an object with a 'kind'.")
        return None
    kind = _kinds.get(str(node.get("kind", "")))
    if kind is None:
        known = ", ".join(sorted(_kinds))
        errors.append(f"Rule {where}: unknown kind {node.get('kind')!r}; use one of {known}.")
        return None
    cleaned: dict[str, Any] = {"kind": kind.name}
    op = node.get("op")
    for param in kind.params:
        if param.name != "op" and op in param.unused_with:
            continue
        raw = node.get(param.name)
        try:
            cleaned[param.name] = _convert(param, raw)
        except ValidationError as error:
            errors.append(f"Rule {where} ({kind.label}), {param.label}: {error.messages[0]}")
            return None
    if kind.check is not None:
        try:
            kind.check(cleaned)
        except ValidationError as error:
            errors.append(f"Rule {where} ({kind.label}): {error.messages[0]}")
            return None
    return cleaned


def _convert(param: Param, raw: Any) -> Any:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValidationError("This is required.")
    if param.type == "choice":
        text = str(raw)
        allowed = [value for value, _ in param.options()]
        if text not in allowed:
            raise ValidationError(f"{text!r} is not one of the choices.")
        return text
    if param.type == "number":
        try:
            number = Decimal(str(raw).strip().replace(",", "."))
        except InvalidOperation:
            raise ValidationError(f"{raw!r} is not a number.") from None
        if not number.is_finite():
            raise ValidationError(f"{raw!r} is not a number.")
        return str(number)
    if param.type == "date":
        try:
            return date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise ValidationError(f"{raw!r} is not a date (use YYYY-MM-DD).") from None
    text = str(raw).strip()
    if len(text) > 200:
        raise ValidationError("At most 200 characters.")
    return text


# --- compiling --------------------------------------------------------------------


def compile_tree(tree: Mapping[str, Any]) -> Q:
    """The ``Q`` on Contact for a validated tree; an empty group matches everyone."""
    children = list(tree.get("rules", []))
    parts: list[Q] = []
    if tree.get("op") == "or":
        children, parts = _merge_any(children)
    parts += [
        compile_tree(child) if "rules" in child else _kinds[child["kind"]].compile(child)
        for child in children
    ]
    if not parts:
        return Q()
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if tree.get("op") == "and" else combined | part
    return combined


def _merge_any(
    children: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[Q]]:
    """In an OR group: the rules left, and one condition per kind for those that merge."""
    alike: dict[str, list[dict[str, Any]]] = {}
    left: list[dict[str, Any]] = []
    for child in children:
        kind = None if "rules" in child else _kinds[child["kind"]]
        if kind is not None and kind.compile_any is not None and child["op"] in kind.any_ops:
            alike.setdefault(kind.name, []).append(child)
        else:
            left.append(child)
    merged: list[Q] = []
    for name, rules in alike.items():
        kind = _kinds[name]
        assert kind.compile_any is not None
        merged.append(kind.compile(rules[0]) if len(rules) == 1 else kind.compile_any(rules))
    return left, merged


# --- the built-in kinds -------------------------------------------------------------

TEXT_OPS: Choices = [
    ("is", "is"),
    ("is_not", "is not"),
    ("contains", "contains"),
    ("starts_with", "starts with"),
    ("is_empty", "is empty"),
    ("is_not_empty", "is not empty"),
]
EMPTY_OPS = frozenset({"is_empty", "is_not_empty"})
COMPARE_OPS: Choices = [("gte", "at least"), ("lte", "at most")]
DATE_OPS: Choices = [("before", "before"), ("after", "on or after")]
IS_OPS: Choices = [("is", "is"), ("is_not", "is not")]


def _text_q(path: str, op: str, value: str | None) -> Q:
    if op == "is_empty":
        return Q(**{path: ""}) | Q(**{f"{path}__isnull": True})
    if op == "is_not_empty":
        return ~Q(**{path: ""}) & Q(**{f"{path}__isnull": False})
    lookup = {"is": "iexact", "is_not": "iexact", "contains": "icontains"}.get(op, "istartswith")
    matched = Q(**{f"{path}__{lookup}": value})
    return ~matched if op == "is_not" else matched


def _is(op: str, matched: Q) -> Q:
    return (
        ~matched if op in ("is_not", "has_not", "not_granted", "not_bought", "not_in") else matched
    )


CONTACT_TEXT_FIELDS: Choices = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "E-mail"),
    ("phone", "Phone"),
    ("job_title", "Job title"),
    ("language", "Language"),
    ("source", "Source"),
    ("time_zone", "Time zone"),
    ("addresses__city", "City"),
    ("addresses__country", "Country (ISO code)"),
]
CONTACT_DATE_FIELDS: Choices = [
    ("birthday", "Birthday"),
    ("created_at", "Created"),
    ("last_activity_at", "Last activity"),
]


def _contact_field(rule: Mapping[str, Any]) -> Q:
    path = rule["field"]
    if path.startswith("addresses__"):
        from rapport.customers.models import Address

        inner = _text_q(path.removeprefix("addresses__"), rule["op"], rule.get("value"))
        if rule["op"] in ("is_not", "is_empty"):
            # "not Berlin" / "no city" means no address of theirs says Berlin / has one.
            flipped = {"is_not": "is", "is_empty": "is_not_empty"}[rule["op"]]
            inner = _text_q(path.removeprefix("addresses__"), flipped, rule.get("value"))
            return Q(~Exists(Address.objects.filter(inner, contact=OuterRef("pk"))))
        return Q(Exists(Address.objects.filter(inner, contact=OuterRef("pk"))))
    return _text_q(path, rule["op"], rule.get("value"))


def _contact_date(rule: Mapping[str, Any]) -> Q:
    day = date.fromisoformat(rule["value"])
    path = rule["field"]
    if path == "birthday":
        return Q(birthday__lt=day) if rule["op"] == "before" else Q(birthday__gte=day)
    return Q(**{f"{path}__date__{'lt' if rule['op'] == 'before' else 'gte'}": day})


def _stages() -> Choices:
    from rapport.customers.choices import LifecycleStage

    return list(LifecycleStage.choices)


def _tags() -> Choices:
    from rapport.customers.models import Tag

    return [(name, name) for name in Tag.objects.values_list("name", flat=True)]


def _tag(rule: Mapping[str, Any]) -> Q:
    return _tagged([rule["value"]], negate=rule["op"] == "has_not")


def _any_tag(rules: Sequence[Mapping[str, Any]]) -> Q:
    return _tagged([rule["value"] for rule in rules])


def _tagged(names: Sequence[str], *, negate: bool = False) -> Q:
    from rapport.customers.models import Contact, Tag

    # Each tag as a one-row subquery (names are unique in lower case), not a join
    # to the tag table: PostgreSQL then estimates the links from their own
    # statistics (a join guessed 40 times too few when the small tag table had
    # never been analysed, and looked every tagged contact up one at a time),
    # and SQLite reads the tag's links through their tag index.
    linked = Q()
    for name in names:
        tag = Tag.objects.filter(Exact(Lower("name"), Lower(Value(name)))).order_by()
        linked |= Q(tag_id=Subquery(tag.values("pk")[:1]))
    tagged = Contact.tags.through.objects.filter(linked)
    return _among(tagged.values("contact_id"), negate=negate)


def _consent_channels() -> Choices:
    from rapport.customers.choices import ConsentChannel

    return list(ConsentChannel.choices)


def _consent_purposes() -> Choices:
    from rapport.customers.choices import ConsentPurpose

    return list(ConsentPurpose.choices)


def _consent(rule: Mapping[str, Any]) -> Q:
    from rapport.customers.choices import ConsentStatus
    from rapport.customers.models import Consent

    granted = Consent.objects.filter(
        channel=rule["channel"], purpose=rule["purpose"], status=ConsentStatus.GRANTED
    )
    return _among(granted.values("contact_id"), negate=rule["op"] == "not_granted")


COMPANY_FIELDS: Choices = [
    ("name", "Name"),
    ("industry", "Industry"),
    ("domain", "Domain"),
    ("size", "Size"),
    ("lifecycle_stage", "Lifecycle stage"),
]


def _company(rule: Mapping[str, Any]) -> Q:
    from rapport.customers.models import Membership

    op = rule["op"]
    positive = {"is_not": "is", "is_empty": "is_not_empty"}.get(op, op)
    inner = _text_q(f"company__{rule['field']}", positive, rule.get("value"))
    works_at = Exists(
        Membership.objects.filter(inner, contact=OuterRef("pk"), company__deleted_at__isnull=True)
    )
    # "industry is not Retail": no company of theirs is in retail.
    return ~Q(works_at) if positive != op else Q(works_at)


def _among(contact_ids: Any, *, negate: bool = False) -> Q:
    """Contacts whose id is (or with ``negate`` is not) among ``contact_ids``.

    ``contact_ids`` is a ``values()`` queryset of one contact-id column. The
    shape differs per database (docs/performance.md, "Segment counts").
    PostgreSQL gets ``EXISTS``: a semi- or anti-join, and inside an OR group a
    choice between a hashed set and one index probe per contact, where
    ``IN (subquery)`` in an OR group is hashed only while the ids fit in
    ``work_mem`` and otherwise rescans the list for every contact. SQLite gets
    ``IN``: it builds the set once and then either looks the contacts up by key
    or probes the set per contact, where its ``EXISTS`` reruns the subquery
    for every contact.
    """
    if connection.vendor == "postgresql":
        column = contact_ids.query.values_select[0]
        matched = Q(Exists(contact_ids.filter(**{column: OuterRef("pk")})))
    else:
        matched = Q(pk__in=contact_ids)
    return ~matched if negate else matched


def _summaries(**lookups: Any) -> Any:
    """The contacts (ids) whose trading summary matches: bought orders at a glance."""
    from rapport.trading.models import TradingSummary

    return TradingSummary.objects.filter(**lookups).values("contact_id")


def _products() -> Choices:
    from rapport.catalog.models import Product

    return [
        (str(pk), f"{name} ({sku})")
        for pk, name, sku in Product.objects.values_list("pk", "name", "sku")
    ]


def _categories() -> Choices:
    from rapport.catalog.models import Product

    names = Product.objects.exclude(category="").values_list("category", flat=True).distinct()
    return [(name, name) for name in sorted(set(names))]


def _bought(rule: Mapping[str, Any]) -> Q:
    """From the lines of that product (index on product, order), their orders' contacts."""
    from rapport.trading.choices import BOUGHT_STATUSES
    from rapport.trading.models import OrderLine

    lines = OrderLine.objects.filter(
        order__contact__isnull=False,
        order__status__in=BOUGHT_STATUSES,
        order__deleted_at__isnull=True,
    )
    if rule["kind"] == "bought_product":
        lines = lines.filter(product_id=int(rule["value"]))
    else:
        lines = lines.filter(product__category=rule["value"])
    return _among(lines.values("order__contact_id"), negate=rule["op"] == "not_bought")


def _last_order(rule: Mapping[str, Any]) -> Q:
    day = date.fromisoformat(rule["value"])
    if rule["op"] == "after":
        return _among(_summaries(last_order_date__gte=day))
    # Last order before the day: they bought, and nothing since.
    return _among(_summaries(last_order_date__lt=day))


def _aggregate(rule: Mapping[str, Any]) -> Q:
    """Number of orders or total spend against a bound, counting no orders as 0 and 0 spent.

    Read from the trading summary (one row per contact who bought, kept exact
    by the trading services), through its index on the measure: the contacts
    that decide are those that pass when nothing (no row) does not, those
    that fail otherwise. See docs/performance.md, "Segment counts".
    """
    if rule["kind"] == "order_count":
        column = "order_count"
        bound: Any = int(Decimal(rule["value"]))
        nothing: Any = 0
    else:
        column = "spend"
        bound = Decimal(rule["value"])
        nothing = Decimal(0)
    passes = nothing >= bound if rule["op"] == "gte" else nothing <= bound
    lookup = {"gte": ("gte", "lt"), "lte": ("lte", "gt")}[rule["op"]][passes]
    return _among(_summaries(**{f"{column}__{lookup}": bound}), negate=passes)


def _asset_due(rule: Mapping[str, Any]) -> Q:
    from rapport.trading.models import Asset

    horizon = timezone.localdate() + timedelta(days=int(Decimal(rule["value"])))
    due = Asset.objects.filter(
        contact=OuterRef("pk"),
        deleted_at__isnull=True,
        replaced_by__isnull=True,
        next_service_due__isnull=False,
        next_service_due__lte=horizon,
    )
    return Q(Exists(due))


def _ticket_open(rule: Mapping[str, Any]) -> Q:
    from rapport.service.choices import ACTIVE_STATUSES
    from rapport.service.models import Ticket

    open_tickets = Ticket.objects.filter(contact=OuterRef("pk"), status__in=ACTIVE_STATUSES)
    return _is(rule["op"], Q(Exists(open_tickets)))


SATISFACTION_CLASSES: Choices = [
    ("nps:promoter", "NPS: promoter (9-10)"),
    ("nps:passive", "NPS: passive (7-8)"),
    ("nps:detractor", "NPS: detractor (0-6)"),
    ("csat:delighted", "CSAT: delighted"),
    ("csat:satisfied", "CSAT: satisfied"),
    ("csat:dissatisfied", "CSAT: dissatisfied"),
]


def _satisfaction(rule: Mapping[str, Any]) -> Q:
    """The class of the contact's latest answer of that survey kind."""
    from rapport.satisfaction.models import Response

    kind, value = str(rule["value"]).split(":", 1)
    latest = Response.objects.filter(contact=OuterRef("pk"), kind=kind).order_by(
        "-answered_at", "-id"
    )
    column = "nps_class" if kind == "nps" else "csat_class"
    matched = Q(Exact(Subquery(latest.values(column)[:1]), Value(value)))
    return _is(rule["op"], matched)


SCORE_METRICS: Choices = [
    ("lifetime_value", "Customer lifetime value (CLV)"),
    ("p_alive", "Probability still a customer (P alive)"),
    ("churn_risk", "Churn risk (0-1)"),
    ("value_percentile", "Value percentile (0-1)"),
    ("recency_days", "Days since last order"),
    ("spend", "Total spend (scores)"),
    ("expected_purchases", "Expected purchases"),
]


def _score(rule: Mapping[str, Any]) -> Q:
    from rapport.insights.models import CustomerScore

    number = Decimal(rule["value"])
    metric = rule["metric"]
    value: Any = number if metric in ("lifetime_value", "spend") else float(number)
    # The scores in range through the metric's index, not every contact's score
    # looked up: with a stage rule beside it SQLite walked all customers.
    scored = CustomerScore.objects.filter(**{f"{metric}__{rule['op']}": value})
    return _among(scored.values("contact_id"))


def _rfm_segments() -> Choices:
    from rapport.insights.models import SEGMENT_CHOICES

    return list(SEGMENT_CHOICES)


def _rfm(rule: Mapping[str, Any]) -> Q:
    matched = Q(score__segment=rule["value"])
    # "not at risk" includes people who have no score yet.
    return ~matched if rule["op"] == "is_not" else matched


def _tiers() -> Choices:
    from rapport.insights.models import LoyaltyTier

    return [(str(pk), name) for pk, name in LoyaltyTier.objects.values_list("pk", "name")]


def _tier(rule: Mapping[str, Any]) -> Q:
    return _is(rule["op"], Q(score__loyalty_tier_id=int(rule["value"])))


def _at_risk(rule: Mapping[str, Any]) -> Q:
    return _is(rule["op"], Q(score__valuable_at_risk=True))


def _custom_fields() -> Choices:
    from rapport.core.custom_fields import definitions
    from rapport.core.models import CustomFieldTarget

    return [(d.key, d.label) for d in definitions(CustomFieldTarget.CONTACT)]


CUSTOM_OPS: Choices = [
    ("is", "is"),
    ("is_not", "is not"),
    ("contains", "contains"),
    ("gte", "at least / on or after"),
    ("lte", "at most / on or before"),
    ("is_empty", "is empty"),
    ("is_not_empty", "is not empty"),
]


def _definition(key: str) -> Any:
    from rapport.core.models import CustomFieldDefinition, CustomFieldTarget

    return CustomFieldDefinition.objects.filter(target=CustomFieldTarget.CONTACT, key=key).first()


def _check_custom(rule: Mapping[str, Any]) -> None:
    from rapport.core.custom_fields import convert
    from rapport.core.models import CustomFieldType

    definition = _definition(rule["key"])
    if definition is None or rule["op"] in EMPTY_OPS:
        return
    if rule["op"] in ("gte", "lte") and definition.field_type not in (
        CustomFieldType.NUMBER,
        CustomFieldType.DATE,
    ):
        raise ValidationError("'at least' and 'at most' work on number and date fields only.")
    if definition.field_type == CustomFieldType.MULTI_CHOICE:
        raise ValidationError("Fields with several choices can be tested for empty only.")
    convert(definition, rule["value"])


def _custom_field(rule: Mapping[str, Any]) -> Q:
    from rapport.core.custom_fields import convert
    from rapport.core.models import CustomFieldType

    key, op = rule["key"], rule["op"]
    has_value = Q(custom_fields__has_key=key) & ~Q(**{f"custom_fields__{key}": None})
    if op == "is_empty":
        return ~has_value
    if op == "is_not_empty":
        return has_value
    definition = _definition(key)
    value = convert(definition, rule["value"])
    if op in ("is", "is_not"):
        matched = Q(**{f"custom_fields__{key}": value})
        return ~matched if op == "is_not" else matched
    text = KeyTextTransform(key, "custom_fields")
    if op == "contains":
        return Q(IContains(text, value))
    if definition.field_type == CustomFieldType.NUMBER:
        number = Cast(text, DecimalField(max_digits=30, decimal_places=10))
        lookup = GreaterThanOrEqual if op == "gte" else LessThanOrEqual
        return has_value & Q(lookup(number, Decimal(value)))
    # ISO dates order as text.
    lookup = GreaterThanOrEqual if op == "gte" else LessThanOrEqual
    return has_value & Q(lookup(KeyTextTransform(key, "custom_fields"), value))


def _static_lists() -> Choices:
    from rapport.marketing.choices import SegmentKind
    from rapport.marketing.models import Segment

    rows = Segment.objects.filter(kind=SegmentKind.STATIC, deleted_at__isnull=True)
    return [(str(pk), name) for pk, name in rows.values_list("pk", "name")]


def _in_list(rule: Mapping[str, Any]) -> Q:
    from rapport.marketing.models import ListMember

    picked = ListMember.objects.filter(segment_id=int(rule["value"]))
    return _among(picked.values("contact_id"), negate=rule["op"] == "not_in")


def _positive_number(rule: Mapping[str, Any]) -> None:
    if Decimal(rule["value"]) < 0:
        raise ValidationError("Use zero or more.")


def _op(choices: Choices) -> Param:
    return Param("op", "Condition", "choice", choices=lambda: choices)


def _register_builtins() -> None:
    for kind in (
        RuleKind(
            "contact_field",
            "Contact field",
            "Contact",
            (
                Param("field", "Field", "choice", choices=lambda: CONTACT_TEXT_FIELDS),
                _op(TEXT_OPS),
                Param("value", "Value", unused_with=EMPTY_OPS),
            ),
            _contact_field,
        ),
        RuleKind(
            "contact_date",
            "Contact date",
            "Contact",
            (
                Param("field", "Field", "choice", choices=lambda: CONTACT_DATE_FIELDS),
                _op(DATE_OPS),
                Param("value", "Date", "date"),
            ),
            _contact_date,
        ),
        RuleKind(
            "custom_field",
            "Custom field",
            "Contact",
            (
                Param("key", "Field", "choice", choices=_custom_fields),
                _op(CUSTOM_OPS),
                Param("value", "Value", unused_with=EMPTY_OPS),
            ),
            _custom_field,
            check=_check_custom,
        ),
        RuleKind(
            "stage",
            "Lifecycle stage",
            "Contact",
            (_op(IS_OPS), Param("value", "Stage", "choice", choices=_stages)),
            lambda rule: _is(rule["op"], Q(lifecycle_stage=rule["value"])),
            compile_any=lambda rules: Q(lifecycle_stage__in=[rule["value"] for rule in rules]),
            any_ops=frozenset({"is"}),
        ),
        RuleKind(
            "tag",
            "Tag",
            "Contact",
            (
                _op([("has", "has"), ("has_not", "does not have")]),
                Param("value", "Tag", "choice", choices=_tags),
            ),
            _tag,
            compile_any=_any_tag,
            any_ops=frozenset({"has"}),
        ),
        RuleKind(
            "consent",
            "Consent",
            "Contact",
            (
                _op([("granted", "granted"), ("not_granted", "not granted")]),
                Param("channel", "Channel", "choice", choices=_consent_channels),
                Param("purpose", "Purpose", "choice", choices=_consent_purposes),
            ),
            _consent,
        ),
        RuleKind(
            "in_list",
            "Static list",
            "Contact",
            (
                _op([("in", "is in"), ("not_in", "is not in")]),
                Param("value", "List", "choice", choices=_static_lists),
            ),
            _in_list,
        ),
        RuleKind(
            "company",
            "Company attribute",
            "Company",
            (
                Param("field", "Field", "choice", choices=lambda: COMPANY_FIELDS),
                _op(TEXT_OPS),
                Param("value", "Value", unused_with=EMPTY_OPS),
            ),
            _company,
        ),
        RuleKind(
            "bought_product",
            "Bought product",
            "Behaviour",
            (
                _op([("bought", "bought"), ("not_bought", "did not buy")]),
                Param("value", "Product", "choice", choices=_products),
            ),
            _bought,
        ),
        RuleKind(
            "bought_category",
            "Bought from category",
            "Behaviour",
            (
                _op([("bought", "bought"), ("not_bought", "did not buy")]),
                Param("value", "Category", "choice", choices=_categories),
            ),
            _bought,
        ),
        RuleKind(
            "last_order",
            "Last order",
            "Behaviour",
            (_op(DATE_OPS), Param("value", "Date", "date")),
            _last_order,
        ),
        RuleKind(
            "order_count",
            "Number of orders",
            "Behaviour",
            (_op(COMPARE_OPS), Param("value", "Orders", "number")),
            _aggregate,
            check=_positive_number,
        ),
        RuleKind(
            "total_spend",
            "Total spend (base currency)",
            "Behaviour",
            (_op(COMPARE_OPS), Param("value", "Amount", "number")),
            _aggregate,
        ),
        RuleKind(
            "asset_due",
            "Owns a unit due for service",
            "Behaviour",
            (Param("value", "Within days (0: overdue or due today)", "number"),),
            _asset_due,
            check=_positive_number,
        ),
        RuleKind(
            "ticket_open",
            "Open support ticket",
            "Service",
            (_op([("has", "has one"), ("has_not", "has none")]),),
            _ticket_open,
        ),
        RuleKind(
            "satisfaction",
            "Latest survey answer",
            "Service",
            (
                _op(IS_OPS),
                Param("value", "Class", "choice", choices=lambda: SATISFACTION_CLASSES),
            ),
            _satisfaction,
        ),
        RuleKind(
            "score",
            "Insight score",
            "Insights",
            (
                Param("metric", "Score", "choice", choices=lambda: SCORE_METRICS),
                _op(COMPARE_OPS),
                Param("value", "Value", "number"),
            ),
            _score,
        ),
        RuleKind(
            "rfm_segment",
            "RFM segment",
            "Insights",
            (_op(IS_OPS), Param("value", "Segment", "choice", choices=_rfm_segments)),
            _rfm,
        ),
        RuleKind(
            "loyalty_tier",
            "Loyalty tier",
            "Insights",
            (_op(IS_OPS), Param("value", "Tier", "choice", choices=_tiers)),
            _tier,
        ),
        RuleKind(
            "valuable_at_risk",
            "Valuable customer at risk",
            "Insights",
            (_op(IS_OPS),),
            _at_risk,
        ),
    ):
        register_kind(kind)


_register_builtins()
