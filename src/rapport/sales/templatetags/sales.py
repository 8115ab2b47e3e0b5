from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


@register.filter
def get(mapping: Mapping[Any, Any], key: Any) -> Any:
    """``{{ row.cells|get:month }}``: a value of a dict keyed by something templates cannot name."""
    return mapping.get(key, "") if isinstance(mapping, Mapping) else ""
