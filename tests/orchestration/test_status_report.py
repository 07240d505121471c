"""`playball status` shows a squatter's report: in the JSON, and under the table."""

import json
from typing import Any, cast

import pytest
from playball_orchestration.cli import _print_status
from playball_orchestration.system import ComponentReport, System

RELAY_METRICS = "http://127.0.0.1:18181/metrics"
SQUATTED = "port 18180: another process answers there (python3 pid 4242), not the auth-api"


class Reports:
    def status(self) -> list[ComponentReport]:
        return [
            ComponentReport("auth-api", "https://127.0.0.1:18180", None, False, {}, SQUATTED),
            ComponentReport("auth-relay", RELAY_METRICS, 7, True, {"backlog": 0}),
        ]


def _print(as_json: bool) -> bool:
    return _print_status(cast(System, Reports()), as_json=as_json)


def test_status_json_carries_the_problem(capsys: pytest.CaptureFixture[str]) -> None:
    assert not _print(as_json=True)
    components: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["components"]
    assert components[0]["problem"] == SQUATTED
    assert components[1]["problem"] is None and components[1]["backlog"] == 0


def test_status_names_the_squatted_port_under_the_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert not _print(as_json=False)
    assert f"auth-api: {SQUATTED}" in capsys.readouterr().err
