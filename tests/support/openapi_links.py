"""What an OpenAPI document's links lead to, and whether they lead anywhere.

A link names its target by ``operationRef`` (a JSON pointer into the document) and the
target's parameters and body fields by name: renaming a route, a path parameter or a
field leaves the link dangling without any error. schemathesis would then skip it
quietly; these checks fail instead, in milliseconds and without a server.
"""

from typing import Any

Document = dict[str, Any]


def _pointer(document: Document, pointer: str) -> Any:
    node: Any = document
    for escaped in pointer.removeprefix("#/").split("/"):
        part = escaped.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _label(pointer: str) -> str:
    """``#/paths/~1users~1me/get`` -> ``GET /users/me``."""
    path, method = pointer.removeprefix("#/paths/").rsplit("/", 1)
    return f"{method.upper()} {path.replace('~1', '/').replace('~0', '~')}"


def _body_fields(document: Document, operation: dict[str, Any]) -> set[str]:
    """The property names of the operation's request bodies, whatever their media type."""
    fields: set[str] = set()
    pending = [
        media.get("schema", {})
        for media in operation.get("requestBody", {}).get("content", {}).values()
    ]
    while pending:
        schema = pending.pop()
        if "$ref" in schema:
            schema = _pointer(document, schema["$ref"]) or {}
        fields.update(schema.get("properties", {}))
        for key in ("anyOf", "oneOf", "allOf"):
            pending.extend(schema.get(key, []))
    return fields


def links(document: Document) -> dict[tuple[str, str], set[str]]:
    """(source operation, status) -> the operations its links lead to."""
    found: dict[tuple[str, str], set[str]] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                for link in response.get("links", {}).values():
                    source = (f"{method.upper()} {path}", status)
                    found.setdefault(source, set()).add(_label(link["operationRef"]))
    return found


def link_problems(document: Document) -> list[str]:
    """Each link whose target, parameter or body field the document does not declare."""
    problems: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                for name, link in response.get("links", {}).items():
                    where = f"{method.upper()} {path} [{status}] {name}"
                    problems.extend(f"{where}: {problem}" for problem in _dangling(document, link))
    return problems


def _dangling(document: Document, link: dict[str, Any]) -> list[str]:
    target = _pointer(document, link["operationRef"])
    if not isinstance(target, dict) or "responses" not in target:
        return [f"no operation at {link['operationRef']}"]
    problems = []
    declared = {(p["in"], p["name"]) for p in target.get("parameters", [])}
    for key in link.get("parameters", {}):
        location, _, parameter = key.partition(".")
        # a bearer token goes in the security scheme's header, which is no parameter
        if (location, parameter) == ("header", "Authorization") and "security" in target:
            continue
        if (location, parameter) not in declared:
            problems.append(f"the target has no parameter {key}")
    body = link.get("requestBody")
    if isinstance(body, dict):
        fields = _body_fields(document, target)
        problems.extend(
            f"the target's body has no {field}" for field in body if field not in fields
        )
    return problems
