"""The rule editor's form encoding: a rule tree to and from flat form fields.

Every node has a path ("r" is the root group, "r.0" its first child, "r.0.2"
...). Fields are ``<path>.type`` (group or rule), ``<path>.op`` and for rules
``<path>.kind`` and one field per parameter. Edits ("add-rule:r.0",
"add-group:r", "remove:r.1") come as the ``edit`` value of the clicked button.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from rapport.marketing import rules

ROOT = "r"
DEFAULT_RULE = {"kind": "stage", "op": "is", "value": "customer"}


def _key(path: str) -> list[int]:
    return [int(part) for part in path.split(".")[1:]]


def from_form(data: QueryDict) -> dict[str, Any]:
    """The (unvalidated) tree the form describes."""
    paths = sorted((key.removesuffix(".type") for key in data if key.endswith(".type")), key=_key)
    nodes: dict[str, dict[str, Any]] = {}
    root: dict[str, Any] = {"op": data.get(f"{ROOT}.op", "and"), "rules": []}
    nodes[ROOT] = root
    for path in paths:
        if path == ROOT or "." not in path:
            continue
        parent = nodes.get(path.rsplit(".", 1)[0])
        if parent is None:
            continue
        if data.get(f"{path}.type") == "group":
            node: dict[str, Any] = {"op": data.get(f"{path}.op", "and"), "rules": []}
        else:
            node = {"kind": data.get(f"{path}.kind", "")}
            kind = rules.kind_named(node["kind"])
            for param in kind.params if kind else ():
                value = data.get(f"{path}.{param.name}", "")
                if param.type == "choice":
                    # After a change of kind the old value may not fit: take the first choice.
                    allowed = [choice for choice, _ in param.options()]
                    if value not in allowed and allowed:
                        value = allowed[0]
                node[param.name] = value
        parent["rules"].append(node)
        nodes[path] = node
    return root


def apply_edit(tree: dict[str, Any], edit: str) -> dict[str, Any]:
    """The tree after one button press of the editor; unknown edits change nothing."""
    verb, _, path = edit.partition(":")
    if not path.startswith(ROOT):
        return tree
    try:
        indexes = _key(path)
    except ValueError:
        return tree
    if verb == "remove" and indexes:
        parent = _node(tree, indexes[:-1])
        if parent is not None and indexes[-1] < len(parent.get("rules", [])):
            del parent["rules"][indexes[-1]]
        return tree
    target = _node(tree, indexes)
    if target is None or "rules" not in target:
        return tree
    if verb == "add-rule":
        target["rules"].append(dict(DEFAULT_RULE))
    elif verb == "add-group":
        target["rules"].append({"op": "or", "rules": [dict(DEFAULT_RULE)]})
    return tree


def _node(tree: dict[str, Any], indexes: list[int]) -> dict[str, Any] | None:
    node: Any = tree
    for index in indexes:
        children = node.get("rules") if isinstance(node, dict) else None
        if not isinstance(children, list) or index >= len(children):
            return None
        node = children[index]
    return node if isinstance(node, dict) else None


def for_display(tree: dict[str, Any], path: str = ROOT, depth: int = 0) -> dict[str, Any]:
    """What the editor template draws: groups with children, rules with their inputs."""
    children = []
    for index, child in enumerate(tree.get("rules", [])):
        child_path = f"{path}.{index}"
        if "rules" in child:
            children.append(for_display(child, child_path, depth + 1))
        else:
            children.append(_rule_display(child, child_path))
    return {
        "is_group": True,
        "path": path,
        "op": tree.get("op", "and"),
        "children": children,
        "depth": depth,
        "may_nest": depth + 1 < rules.MAX_DEPTH,
    }


def _rule_display(rule: dict[str, Any], path: str) -> dict[str, Any]:
    kind = rules.kind_named(str(rule.get("kind", "")))
    groups: dict[str, list[tuple[str, str]]] = {}
    for each in rules.kinds():
        groups.setdefault(each.group, []).append((each.name, each.label))
    params = []
    if kind is not None:
        op = str(rule.get("op", ""))
        for param in kind.params:
            params.append(
                {
                    "name": param.name,
                    "field": f"{path}.{param.name}",
                    "label": param.label,
                    "type": param.type,
                    "options": param.options() if param.type == "choice" else [],
                    "value": "" if rule.get(param.name) is None else str(rule.get(param.name)),
                    "hidden": param.name != "op" and op in param.unused_with,
                }
            )
    return {
        "is_group": False,
        "path": path,
        "kind": kind.name if kind else "",
        "kinds": sorted(groups.items()),
        "params": params,
    }
