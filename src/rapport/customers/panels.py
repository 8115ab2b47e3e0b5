"""Panels other apps add to the contact and company pages (orders, timeline, tasks...).

An app registers a ``Panel`` in its ``AppConfig.ready``; the detail views render
every panel whose ``data`` returns something for the viewer. So the customer
pages grow with the apps installed without each app editing these templates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from rapport.customers.models import Company, Contact
    from rapport.users.models import User


@dataclass(frozen=True)
class Panel:
    key: str
    template: str
    # Given the viewer and the record, the template's ``panel.data``; None hides the panel.
    data: Callable[[User, Contact | Company], dict[str, Any] | None]
    column: Literal["main", "side"] = "main"
    order: int = 100
    on_contacts: bool = True
    on_companies: bool = True


@dataclass(frozen=True)
class ShownPanel:
    key: str
    template: str
    column: str
    data: dict[str, Any]


_panels: dict[str, Panel] = {}


def register(panel: Panel) -> None:
    _panels[panel.key] = panel


def shown(viewer: User, record: Contact | Company) -> dict[str, list[ShownPanel]]:
    """The panels for this page, by column, in their order."""
    from rapport.customers.models import Contact

    columns: dict[str, list[ShownPanel]] = {"main": [], "side": []}
    for panel in sorted(_panels.values(), key=lambda p: (p.order, p.key)):
        if not (panel.on_contacts if isinstance(record, Contact) else panel.on_companies):
            continue
        data = panel.data(viewer, record)
        if data is not None:
            columns[panel.column].append(ShownPanel(panel.key, panel.template, panel.column, data))
    return columns
