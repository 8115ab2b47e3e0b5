"""Merging two contacts (or companies) into one, and undoing a merge: the only write path.

A merge keeps everything of both. Every row of any app that points at the
loser (``_meta.related_objects``, so apps added later are covered without being
named here; also tags and other many-to-many links) is moved to the survivor,
except where a unique constraint allows only one:

* a one-per-record row (a score, a consent for one channel and purpose, the
  same phone number twice, a membership of the same company, the same tag):
  the survivor's is kept and the loser's is removed, together with whatever
  hangs off it, after being written into the merge record;
* a "one primary" flag (primary e-mail, primary phone): the loser's row moves
  and loses the flag.

The user picks the surviving value of each field that differs; the loser goes
to the trash; a timeline entry and the audit history say what happened; and
the ``MergeRecord`` holds every change, so ``undo_merge`` puts back the
survivor's values, moves back what was moved, re-creates what was removed and
restores the loser.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core import serializers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, router, transaction
from django.db.models import Q
from django.db.models.deletion import Collector
from django.urls import reverse
from django.utils import timezone

from rapport.core.permissions import Action, Role, authorise, role_of
from rapport.core.services import restore, save_changes
from rapport.customers import search as customer_search
from rapport.customers.models import Company, Contact
from rapport.customers.trash import TrashNote
from rapport.dataio.models import DuplicateKind, DuplicatePair, MergeRecord, PairStatus
from rapport.interactions.choices import Channel, Direction, InteractionKind
from rapport.interactions.services import record_interaction
from rapport.trading.services import refresh_trading_summary

if TYPE_CHECKING:
    from rapport.users.models import User

Record = Contact | Company
SURVIVOR, LOSER = "survivor", "loser"

# The fields a user picks between, in the order the form shows them.
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "birthday",
    "language",
    "time_zone",
    "source",
    "lifecycle_stage",
    "owner",
    "external_id",
    "notes",
)
COMPANY_FIELDS = (
    "name",
    "domain",
    "industry",
    "size",
    "annual_revenue",
    "currency",
    "lifecycle_stage",
    "owner",
    "external_id",
    "notes",
)
# Primary e-mail and phone are rows of their own: picking one moves the flag.
PRIMARY_ROWS = {"email": ("emails", "email"), "phone": ("phones", "number")}
CUSTOM_PREFIX = "cf:"


@dataclass(frozen=True)
class FieldChoice:
    name: str
    label: str
    survivor_value: Any
    loser_value: Any
    default: str  # SURVIVOR or LOSER: the survivor's unless it is empty


def kind_of(record: Record) -> str:
    return DuplicateKind.CONTACT if isinstance(record, Contact) else DuplicateKind.COMPANY


def field_choices(survivor: Record, loser: Record) -> list[FieldChoice]:
    """The fields whose values differ, for the form's radio buttons."""
    names = CONTACT_FIELDS if isinstance(survivor, Contact) else COMPANY_FIELDS
    choices: list[FieldChoice] = []
    for name in names:
        if name == "owner":
            mine, theirs = survivor.owner, loser.owner
        else:
            mine, theirs = getattr(survivor, name), getattr(loser, name)
        if mine == theirs or _empty(theirs):
            continue
        label = str(getattr(type(survivor)._meta.get_field(name), "verbose_name", name))
        label = label.capitalize()
        if name in PRIMARY_ROWS:
            label = f"Primary {label.lower()}"
        choices.append(FieldChoice(name, label, mine, theirs, LOSER if _empty(mine) else SURVIVOR))
    theirs_custom = loser.custom_fields or {}
    mine_custom = survivor.custom_fields or {}
    for key in sorted(theirs_custom):
        if key in mine_custom and mine_custom[key] != theirs_custom[key]:
            choices.append(
                FieldChoice(
                    f"{CUSTOM_PREFIX}{key}", key, mine_custom[key], theirs_custom[key], SURVIVOR
                )
            )
    return choices


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == {}


# --- merge ------------------------------------------------------------------------


def merge(
    actor: User | None,
    survivor: Record,
    loser: Record,
    *,
    choose: Mapping[str, str] | None = None,
    pair: DuplicatePair | None = None,
) -> MergeRecord:
    """Merge ``loser`` into ``survivor``; ``choose`` maps a field to SURVIVOR or LOSER.

    Fields not chosen keep the survivor's value, or take the loser's where the
    survivor has none. Refuses (ValidationError) a record merged with itself,
    records of different kinds, a record in the trash, and an unknown field.
    """
    if type(survivor) is not type(loser):
        raise ValidationError({"loser": ["Only two contacts or two companies can be merged."]})
    if survivor.pk == loser.pk:
        raise ValidationError({"loser": ["A record cannot be merged with itself."]})
    authorise(actor, Action.CHANGE, survivor)
    authorise(actor, Action.CHANGE, loser)
    authorise(actor, Action.DELETE, loser)
    model = type(survivor)
    kind = kind_of(survivor)
    with transaction.atomic():
        # Locked in id order, so two merges of the same records cannot deadlock.
        locked = {
            row.pk: row
            for row in model._base_manager.select_for_update()
            .filter(pk__in=[survivor.pk, loser.pk])
            .order_by("pk")
        }
        survivor, loser = locked[survivor.pk], locked[loser.pk]
        for role, record in (("survivor", survivor), ("loser", loser)):
            if record.deleted_at is not None:
                raise ValidationError({role: [f"{record} is in the trash: restore it first."]})
        choices = {choice.name: choice for choice in field_choices(survivor, loser)}
        picked = _check_choices(choices, choose or {})
        undo: dict[str, Any] = {
            "survivor": _snapshot(survivor),
            "loser": _snapshot(loser),
            "moved": [],
            "flags": [],
            "dropped": [],
        }
        # Before anything moves: the primary rows' flags as they were.
        if isinstance(survivor, Contact):
            for relation, _column in PRIMARY_ROWS.values():
                for record in (survivor, loser):
                    for pk, flag in getattr(record, relation).values_list("pk", "is_primary"):
                        undo["flags"].append(
                            {
                                "model": getattr(record, relation).model._meta.label,
                                "pk": pk,
                                "field": "is_primary",
                                "value": flag,
                            }
                        )
        for related_model, fk in _links(model):
            _move_rows(related_model, fk, survivor, loser, undo)
        if isinstance(survivor, Contact):
            # The loser's orders are the survivor's now: segment order rules read the summary.
            refresh_trading_summary([survivor.pk, loser.pk])
        changes, loser_changes = _field_changes(survivor, loser, picked)
        if loser_changes:
            # Unique values (external id) leave the loser before the survivor takes them.
            save_changes(loser, loser_changes, actor=actor, reason=f"Merged into {survivor}")
        if isinstance(survivor, Contact) and isinstance(loser, Contact):
            changes.update(_pick_primaries(survivor, loser, picked))
            activity = [d for d in (survivor.last_activity_at, loser.last_activity_at) if d]
            if activity and max(activity) != survivor.last_activity_at:
                changes["last_activity_at"] = max(activity)
        # Undo reverts only these, so later edits of other fields survive it.
        undo["survivor_fields"] = sorted(_attname(model, name) for name in changes)
        undo["loser_fields"] = sorted(_attname(model, name) for name in loser_changes)
        save_changes(survivor, changes, actor=actor, reason=f"Merged with {loser}")
        loser.refresh_from_db()
        save_changes(
            loser, {"deleted_at": timezone.now()}, actor=actor, reason=f"Merged into {survivor}"
        )
        if pair is None:
            pair = _pair_of(kind, survivor, loser)
        merge_record = MergeRecord.objects.create(
            kind=kind,
            pair=pair,
            undo=undo,
            merged_by=actor,
            **{f"survivor_{kind}": survivor, f"loser_{kind}": loser},
        )
        if pair is not None:
            DuplicatePair.objects.filter(pk=pair.pk).update(
                status=PairStatus.MERGED, decided_at=timezone.now(), decided_by=actor
            )
        _timeline(actor, survivor, f"Merged {loser} (#{loser.pk}) into this record")
        _reindex(survivor)
        _reindex(loser)
    return merge_record


def _check_choices(choices: Mapping[str, FieldChoice], choose: Mapping[str, str]) -> set[str]:
    """The names of the fields whose loser's value is taken."""
    errors: dict[str, list[str]] = {}
    for name, side in choose.items():
        if name not in choices:
            errors[name] = ["This field is the same on both records, or cannot be picked."]
        elif side not in (SURVIVOR, LOSER):
            errors[name] = [f"Pick {SURVIVOR} or {LOSER}, not {side!r}."]
    if errors:
        raise ValidationError(errors)
    return {name for name, choice in choices.items() if choose.get(name, choice.default) == LOSER}


def _snapshot(record: Record) -> str:
    """The record's own columns as they were (Django's JSON serialisation, exact for
    dates, decimals and empty foreign keys)."""
    return serializers.serialize("json", [record])


def _field_changes(
    survivor: Record, loser: Record, picked: set[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    changes: dict[str, Any] = {}
    loser_changes: dict[str, Any] = {}
    for name in picked:
        if name.startswith(CUSTOM_PREFIX) or name in PRIMARY_ROWS:
            continue
        if name == "owner":
            changes["owner"] = loser.owner
        elif name == "external_id":
            changes["external_id"] = loser.external_id
            loser_changes["external_id"] = None
        else:
            changes[name] = getattr(loser, name)
    # Custom fields: the loser's fill the survivor's gaps; picked ones replace.
    custom = dict(loser.custom_fields or {})
    custom.update(survivor.custom_fields or {})
    for name in picked:
        if name.startswith(CUSTOM_PREFIX):
            key = name.removeprefix(CUSTOM_PREFIX)
            custom[key] = loser.custom_fields[key]
    if custom != (survivor.custom_fields or {}):
        changes["custom_fields"] = custom
    if isinstance(survivor, Contact) and {"first_name", "last_name"} & picked:
        first = changes.get("first_name", survivor.first_name)
        last = changes.get("last_name", survivor.last_name)
        changes["full_name"] = " ".join(p for p in (first.strip(), last.strip()) if p)
    return changes, loser_changes


def _pick_primaries(survivor: Contact, loser: Contact, picked: set[str]) -> dict[str, Any]:
    """Move the primary flag to the loser's e-mail or phone where the user picked it."""
    changes: dict[str, Any] = {}
    for name, (relation, column) in PRIMARY_ROWS.items():
        if name not in picked:
            continue
        wanted = getattr(loser, name)
        rows = getattr(survivor, relation)
        chosen = rows.filter(**{column: wanted}).first()
        if chosen is None:  # the loser's primary row went (the survivor had the same)
            continue
        rows.filter(is_primary=True).update(is_primary=False)
        rows.filter(pk=chosen.pk).update(is_primary=True)
        changes[name] = wanted
    return changes


def _links(model: type[Record]) -> list[tuple[type[models.Model], models.ForeignKey[Any, Any]]]:
    """Every (model, foreign key) whose rows point at a record of ``model``."""
    links: list[tuple[type[models.Model], models.ForeignKey[Any, Any]]] = []
    seen: set[tuple[str, str]] = set()

    def add(related: type[models.Model], fk: Any) -> None:
        key = (related._meta.label, fk.name)
        if key not in seen:
            seen.add(key)
            links.append((related, fk))

    for relation in model._meta.related_objects:
        if relation.many_to_many:
            through: Any = getattr(relation, "through", None)
            if through is not None and through._meta.auto_created:
                add(through, _fk_to(through, model))
        else:
            add(relation.related_model, relation.field)
    for field in model._meta.many_to_many:
        through = getattr(field.remote_field, "through", None)
        if through is not None and through._meta.auto_created:
            add(through, _fk_to(through, model))
    return links


def _fk_to(through: type[models.Model], model: type[models.Model]) -> Any:
    return next(
        field
        for field in through._meta.concrete_fields
        if isinstance(field, models.ForeignKey) and field.related_model is model
    )


def _unique_groups(related: type[models.Model], fk: Any) -> list[tuple[list[str], Q | None]]:
    """The unique constraints that include ``fk``: (the other columns, condition)."""
    groups: list[tuple[list[str], Q | None]] = []
    if fk.unique:
        groups.append(([], None))
    for constraint in related._meta.constraints:
        fields = list(getattr(constraint, "fields", ()) or ())
        if isinstance(constraint, models.UniqueConstraint) and fk.name in fields:
            groups.append(([f for f in fields if f != fk.name], constraint.condition))
    for together in related._meta.unique_together:
        if fk.name in together:
            groups.append(([f for f in together if f != fk.name], None))
    return groups


def _flag_of(condition: Q | None) -> str | None:
    """``Q(is_primary=True)`` → "is_primary": a constraint a cleared flag satisfies."""
    if condition is None or len(condition.children) != 1 or condition.negated:
        return None
    child = condition.children[0]
    if isinstance(child, tuple) and child[1] is True and "__" not in child[0]:
        return str(child[0])
    return None


def _move_rows(
    related: type[models.Model], fk: Any, survivor: Record, loser: Record, undo: dict[str, Any]
) -> None:
    manager = related._base_manager
    rows = list(manager.filter(**{fk.name: loser}))
    if not rows:
        return
    groups = _unique_groups(related, fk)
    moved: list[Any] = []
    for row in rows:
        drop = False
        for others, condition in groups:
            taken = manager.filter(**{fk.name: survivor})
            taken = taken.filter(**{name: getattr(row, _attname(related, name)) for name in others})
            applies = condition is None or manager.filter(condition, pk=row.pk).exists()
            if condition is not None:
                taken = taken.filter(condition)
            if not applies or not taken.exists():
                continue
            flag = _flag_of(condition)
            if flag is not None:
                undo["flags"].append(
                    {
                        "model": related._meta.label,
                        "pk": row.pk,
                        "field": flag,
                        "value": getattr(row, flag),
                    }
                )
                manager.filter(pk=row.pk).update(**{flag: False})
            else:
                drop = True
                break
        if drop:
            undo["dropped"].extend(_remove(row))
        else:
            moved.append(row.pk)
    if moved:
        manager.filter(pk__in=moved).update(**{fk.name: survivor})
        if fk.primary_key:  # a one-to-one row keyed by the record: its key is now the survivor's
            moved = [survivor.pk]
        undo["moved"].append({"model": related._meta.label, "field": fk.name, "pks": moved})


def _attname(model: type[models.Model], name: str) -> str:
    return model._meta.get_field(name).attname  # type: ignore[union-attr]


def _remove(row: models.Model) -> list[str]:
    """Delete a row and what cascades from it; returns them serialised, parents first."""
    collector = Collector(using=router.db_for_write(type(row)))
    collector.collect([row])
    instances: list[models.Model] = []
    for queryset in collector.fast_deletes:
        instances.extend(queryset)
    for batch in collector.data.values():
        instances.extend(batch)
    # Parents before children, for re-creating them in order.
    ordered = [row, *[i for i in instances if i is not row and i != row]]
    serialised = [serializers.serialize("json", [instance]) for instance in ordered]
    type(row)._base_manager.filter(pk=row.pk).delete()
    return serialised


def _pair_of(kind: str, one: Record, other: Record) -> DuplicatePair | None:
    first, second = sorted((one.pk, other.pk))
    return DuplicatePair.objects.filter(
        kind=kind, **{f"{kind}_a_id": first, f"{kind}_b_id": second}
    ).first()


def _timeline(actor: User | None, record: Record, subject: str) -> None:
    record_interaction(
        actor,
        kind=InteractionKind.NOTE,
        subject=subject,
        channel=Channel.SYSTEM,
        direction=Direction.INTERNAL,
        contact=record if isinstance(record, Contact) else None,
        company=record if isinstance(record, Company) else None,
    )


def _reindex(record: Record) -> None:
    if isinstance(record, Contact):
        customer_search.reindex_contact(record)
    else:
        customer_search.reindex_company(record)


def merged_into(record: Record) -> Record | None:
    """The record a trashed one was merged into (for its page: "merged into …"), if any."""
    found = latest_merges([record]).get(record.pk)
    return found.survivor if found is not None else None


def latest_merges(records: Sequence[Record]) -> dict[int, MergeRecord]:
    """Each record's latest merge that is not undone, where it was the one merged away."""
    if not records:
        return {}
    kind = kind_of(records[0])
    found: dict[int, MergeRecord] = {}
    for merge_record in (
        MergeRecord.objects.filter(
            undone_at__isnull=True, **{f"loser_{kind}__in": [record.pk for record in records]}
        )
        .select_related(f"survivor_{kind}")
        .order_by("-merged_at", "-id")
    ):
        found.setdefault(getattr(merge_record, f"loser_{kind}_id"), merge_record)
    return found


def trash_notes(records: Sequence[Record]) -> dict[int, TrashNote]:
    """For the trash: a merged record is undone from its merge, not restored on its own."""
    notes: dict[int, TrashNote] = {}
    merges = latest_merges(records)
    for record in records:
        merge_record = merges.get(record.pk)
        if merge_record is None:
            continue
        survivor = merge_record.survivor
        notes[record.pk] = TrashNote(
            text="Merged into",
            link_text=str(survivor),
            link_url=reverse(
                "customers:contact" if isinstance(survivor, Contact) else "customers:company",
                args=[survivor.pk],
            ),
            action_label="Undo merge",
            action_url=reverse("dataio:merge-undo", args=[merge_record.pk]),
            refuses_restore=(
                f"{record} was merged into {survivor}: undo the merge instead, "
                "so its history goes back with it."
            ),
        )
    return notes


# --- undo -------------------------------------------------------------------------


def may_undo(actor: User | None, record: MergeRecord) -> bool:
    """Admins undo any merge; whoever merged may undo their own."""
    if actor is None:
        return True
    return role_of(actor) == Role.ADMIN or (
        record.merged_by_id is not None and record.merged_by_id == actor.pk
    )


def undo_merge(actor: User | None, record: MergeRecord) -> MergeRecord:
    """Put both records back as they were before the merge.

    Rows added to the survivor after the merge stay with it; the survivor's
    fields get their values from before the merge back.
    """
    if not may_undo(actor, record):
        raise PermissionDenied("Only an admin or the person who merged can undo a merge.")
    with transaction.atomic():
        record = MergeRecord.objects.select_for_update().get(pk=record.pk)
        if record.undone_at is not None:
            raise ValidationError({"merge": ["This merge was undone already."]})
        survivor, loser = record.survivor, record.loser
        authorise(actor, Action.CHANGE, survivor)
        if loser.deleted_at is None:
            raise ValidationError({"merge": [f"{loser} is no longer in the trash."]})
        undo = record.undo
        loser_id = loser.pk
        for move in undo["moved"]:
            related = _model(move["model"])
            related._base_manager.filter(pk__in=move["pks"]).update(
                **{f"{move['field']}_id": loser_id}
            )
        # Clear first, then set: never two primaries for one record in between.
        flags = _first_seen(undo["flags"])
        for flag in flags:
            _model(flag["model"])._base_manager.filter(pk=flag["pk"]).update(
                **{flag["field"]: False}
            )
        for flag in flags:
            if flag["value"]:
                _model(flag["model"])._base_manager.filter(pk=flag["pk"]).update(
                    **{flag["field"]: True}
                )
        for serialised in undo["dropped"]:
            for restored in serializers.deserialize("json", serialised):
                restored.save()
        if isinstance(survivor, Contact):
            # The orders went back: recount both.
            refresh_trading_summary([survivor.pk, loser.pk])
        model = type(survivor)
        survivor_changes = _changed(model, survivor, undo["survivor"], undo["survivor_fields"])
        save_changes(survivor, survivor_changes, actor=actor, reason=f"Merge with {loser} undone")
        loser_changes = _changed(model, loser, undo["loser"], undo["loser_fields"])
        restore(loser, actor=actor, reason=f"Merge into {survivor} undone")
        if loser_changes:
            save_changes(loser, loser_changes, actor=actor, reason="Merge undone")
        record.undone_at = timezone.now()
        record.undone_by = actor
        record.save(update_fields=["undone_at", "undone_by"])
        if record.pair_id is not None:
            DuplicatePair.objects.filter(pk=record.pair_id).update(
                status=PairStatus.OPEN, decided_at=None, decided_by=None
            )
        _timeline(actor, survivor, f"Merge of {loser} (#{loser.pk}) undone")
        _timeline(actor, loser, f"Merge into {survivor} (#{survivor.pk}) undone")
        _reindex(survivor)
        _reindex(loser)
    return record


def _first_seen(flags: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for flag in flags:
        seen.setdefault((flag["model"], flag["pk"]), flag)
    return list(seen.values())


def _changed(
    model: type[Record], record: Record, before: str, names: Iterable[str]
) -> dict[str, Any]:
    """Of the fields ``names``, those that differ from the snapshot ``before``, with its
    values."""
    old = next(iter(serializers.deserialize("json", before))).object
    return {
        name: getattr(old, name) for name in names if getattr(record, name) != getattr(old, name)
    }


def _model(label: str) -> type[models.Model]:
    from django.apps import apps

    return apps.get_model(label)
