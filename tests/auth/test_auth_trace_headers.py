"""Only a valid W3C ``traceparent``, and a ``tracestate`` of at most 512 bytes beside it,
reach the outbox row a request writes; ``baggage`` never does.

Through the API (TestClient) on SQLite, reading the row the request committed: the
headers the relay would send to Kafka.
"""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support.auth_backends import AuthBackend

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

TRACE_ID, PARENT_ID = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
TRACE_HEADERS = {"traceparent", "tracestate", "baggage"}


def _tracestate(size: int, prefix: str = "k") -> str:
    """A well-formed tracestate of exactly ``size`` bytes, in members of about 100."""
    members: list[str] = []
    while (left := size - len(",".join(members)) - (1 if members else 0)) > 106:
        members.append(f"{prefix}{len(members):02d}=" + "v" * 96)
    members.append(f"{prefix}{len(members):02d}=" + "v" * (left - 4))
    return ",".join(members)


def _row_trace_headers(
    client: TestClient, backend: AuthBackend, headers: list[tuple[str, str]]
) -> dict[str, Any]:
    """Register a user with ``headers``; the trace headers of its outbox row."""
    name = f"u{uuid.uuid4().hex[:10]}"
    body = {
        "username": name,
        "email": f"{name}@example.org",
        "password": "correct horse",
        "display_name": "Tracy",
    }
    response = client.post("/users", json=body, headers=headers)
    assert response.status_code == 201, response.text
    (row,) = backend.outbox_rows(uuid.UUID(response.json()["id"]))
    return {key: value for key, value in row.headers.items() if key in TRACE_HEADERS}


KEPT = {
    "valid": ([("traceparent", TRACEPARENT)], {"traceparent": TRACEPARENT}),
    "unsampled": (
        [("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-00")],
        {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-00"},
    ),
    "with a tracestate": (
        [("traceparent", TRACEPARENT), ("tracestate", "vendor=abc,other=1")],
        {"traceparent": TRACEPARENT, "tracestate": "vendor=abc,other=1"},
    ),
    "a tracestate of 512 bytes": (
        [("traceparent", TRACEPARENT), ("tracestate", _tracestate(512))],
        {"traceparent": TRACEPARENT, "tracestate": _tracestate(512)},
    ),
    "a tracestate in two fields": (
        [("traceparent", TRACEPARENT), ("tracestate", "a=1"), ("tracestate", "b=2")],
        {"traceparent": TRACEPARENT, "tracestate": "a=1,b=2"},
    ),
    # a higher version is parsed leniently; only its ids and flags travel, as version 00
    "a future version": (
        [("traceparent", f"cc-{TRACE_ID}-{PARENT_ID}-01-more-fields")],
        {"traceparent": TRACEPARENT},
    ),
}


@pytest.mark.parametrize(("headers", "expected"), KEPT.values(), ids=KEPT.keys())
def test_a_valid_trace_context_reaches_the_outbox_row(
    client: TestClient,
    backend: AuthBackend,
    headers: list[tuple[str, str]],
    expected: dict[str, str],
) -> None:
    assert _row_trace_headers(client, backend, headers) == expected


FORGED = {
    "not the format": "00-abc-def-01",
    "uppercase hex": f"00-{TRACE_ID.upper()}-{PARENT_ID}-01",
    "all-zero trace id": f"00-{'0' * 32}-{PARENT_ID}-01",
    "all-zero parent id": f"00-{TRACE_ID}-{'0' * 16}-01",
    "version ff": f"ff-{TRACE_ID}-{PARENT_ID}-01",
    "version 00 with more fields": f"{TRACEPARENT}-extra",
    "version 00 with a trailing byte": f"{TRACEPARENT}0",
    "a future version, without the dash": f"cc-{TRACE_ID}-{PARENT_ID}-01x",
    "oversized": f"cc-{TRACE_ID}-{PARENT_ID}-01-" + "x" * 1000,
    "short ids": f"00-{TRACE_ID[:-1]}-{PARENT_ID}-01",
}


@pytest.mark.parametrize("traceparent", FORGED.values(), ids=FORGED.keys())
def test_a_forged_traceparent_is_not_propagated(
    client: TestClient, backend: AuthBackend, traceparent: str
) -> None:
    # nor its tracestate: it means nothing without a valid traceparent
    headers = [("traceparent", traceparent), ("tracestate", "vendor=abc")]
    assert _row_trace_headers(client, backend, headers) == {}


def test_two_traceparents_are_not_propagated(client: TestClient, backend: AuthBackend) -> None:
    other = f"00-{TRACE_ID}-{'1' * 16}-01"
    headers = [("traceparent", TRACEPARENT), ("traceparent", other)]
    assert _row_trace_headers(client, backend, headers) == {}


@pytest.mark.parametrize(
    "tracestate",
    [
        [_tracestate(513)],
        [_tracestate(300, "a"), _tracestate(212, "b")],  # 513 bytes once joined
    ],
    ids=["one field", "two fields"],
)
def test_a_tracestate_over_512_bytes_is_dropped(
    client: TestClient, backend: AuthBackend, tracestate: list[str]
) -> None:
    headers = [("traceparent", TRACEPARENT), *[("tracestate", value) for value in tracestate]]
    assert _row_trace_headers(client, backend, headers) == {"traceparent": TRACEPARENT}


@pytest.mark.parametrize("traceparent", [TRACEPARENT, None], ids=["traced", "untraced"])
def test_baggage_never_reaches_the_outbox(
    client: TestClient, backend: AuthBackend, traceparent: str | None
) -> None:
    headers = [("baggage", "user.id=ada,plan=gold")]
    if traceparent is not None:
        headers.append(("traceparent", traceparent))
    expected = {"traceparent": traceparent} if traceparent else {}
    assert _row_trace_headers(client, backend, headers) == expected


def test_a_profile_change_on_a_worker_thread_carries_the_requests_trace(
    client: TestClient, backend: AuthBackend
) -> None:
    """``PATCH /users/me`` runs its unit of work on the account routes' own worker
    threads, not FastAPI's pool: the request's trace context must go with it."""
    name = f"u{uuid.uuid4().hex[:10]}"
    password = "correct horse"
    body = {
        "username": name,
        "email": f"{name}@example.org",
        "password": password,
        "display_name": "Tracy",
    }
    user_id = uuid.UUID(client.post("/users", json=body).json()["id"])
    login = {"username": name, "password": password, "scope": "account"}
    token = client.post("/token", data=login).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "traceparent": TRACEPARENT}

    response = client.patch("/users/me", json={"display_name": "Traced"}, headers=headers)

    assert response.status_code == 200, response.text
    registered, updated = backend.outbox_rows(user_id)
    assert updated.record_type.endswith("UserUpdated")
    assert updated.headers.get("traceparent") == TRACEPARENT
    assert "traceparent" not in registered.headers  # the registration was not traced
