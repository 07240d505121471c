"""OpenAPI 3 links added to an app's generated document, from one table per service.

FastAPI generates the OpenAPI from the routes and has no notion of links, so each
service keeps its links in one table (``entrypoints/openapi_links.py``) instead of
cluttering each route, and :func:`install_links` adds them to the document the app
serves. Clients read them as documentation; schemathesis' stateful phase follows them.
"""

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI

Links = Mapping[tuple[str, str, str], Mapping[str, Mapping[str, Any]]]
"""(path, method, status) of a response -> the links it offers, by name."""


def with_links(document: dict[str, Any], links: Links) -> dict[str, Any]:
    """``document`` (an OpenAPI dict) with ``links`` added to its responses.

    A link whose source response is gone from the routes raises KeyError: that is a
    change of the code, not of the input, so the first test reading the OpenAPI fails.
    """
    for (path, method, status), offered in links.items():
        response = document["paths"][path][method]["responses"][status]
        response["links"] = {**response.get("links", {}), **offered}
    return document


def install_links(app: FastAPI, links: Links) -> None:
    """Make ``app`` serve its OpenAPI with ``links`` (FastAPI caches the document)."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    app.openapi = lambda: with_links(generate(), links)  # type: ignore[method-assign]
