"""The field-level difference between two versions of a record, for the version list."""

from dataclasses import dataclass

from playball_catalog.fields import FieldView


@dataclass(frozen=True, slots=True)
class FieldChange:
    kind: str  # "added", "removed", "changed"
    field: str
    detail: str  # what changed: "type: long -> string; default: none -> 0"


def field_diff(before: tuple[FieldView, ...], after: tuple[FieldView, ...]) -> list[FieldChange]:
    """Added, removed and changed fields of ``after`` against ``before``, in field order."""
    old = {view.name: view for view in before}
    new = {view.name: view for view in after}
    changes: list[FieldChange] = []
    for view in after:
        previous = old.get(view.name)
        if previous is None:
            changes.append(FieldChange("added", view.name, _describe(view)))
            continue
        details = [
            f"{what}: {_shown(was)} -> {_shown(now)}"
            for what, was, now in (
                ("type", previous.type, view.type),
                ("default", previous.default, view.default),
                ("tags", ", ".join(previous.tags), ", ".join(view.tags)),
                ("doc", previous.doc, view.doc),
            )
            if was != now
        ]
        if details:
            changes.append(FieldChange("changed", view.name, "; ".join(details)))
    changes.extend(
        FieldChange("removed", view.name, _describe(view))
        for view in before
        if view.name not in new
    )
    return changes


def _describe(view: FieldView) -> str:
    default = f", default {view.default}" if view.default is not None else ", no default"
    return f"{view.type}{default}"


def _shown(value: str | None) -> str:
    return value or "none"
