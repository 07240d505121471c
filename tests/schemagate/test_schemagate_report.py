"""`--github` output: valid workflow commands, escaped so that no value can break one."""

import re

from playball_core.avro.jsonpos import Position
from playball_core.avro.parser import parse_schema
from playball_core.avro.schema import SourceRef
from playball_core.manifest import CompatibilityLevel
from playball_schemagate.findings import Direction, Finding, Location, Severity
from playball_schemagate.gate import SubjectReport
from playball_schemagate.report import render_github
from playball_schemagate.rules import Rule
from playball_schemagate.schema_version import SchemaVersion

# GitHub's syntax: ::command key=value,key=value::message, one line. Property values may not
# hold ',' ':' '%' CR or LF unescaped; the message may not hold '%' CR or LF.
COMMAND = re.compile(
    r"^::(?P<command>error|warning|notice)"
    r" (?P<props>[a-z]+=[^,:\r\n]*(?:,[a-z]+=[^,:\r\n]*)*)"
    r"::(?P<message>[^\r\n]*)$"
)
ESCAPES = {"%25": "%", "%0D": "\r", "%0A": "\n", "%3A": ":", "%2C": ","}


def unescape(text: str) -> str:
    assert re.fullmatch(r"(?:[^%]|%25|%0D|%0A|%3A|%2C)*", text), f"stray % in {text!r}"
    return re.sub("%25|%0D|%0A|%3A|%2C", lambda m: ESCAPES[m.group(0)], text)


def report(message: str, file: str, *, severity: Severity, note: str = "") -> SubjectReport:
    document = parse_schema('{"type": "fixed", "name": "F", "size": 1}', SourceRef(file, file))
    finding = Finding(
        rule=Rule.MISSING_ENUM_SYMBOLS if severity is Severity.ERROR else Rule.FIELD_MISSING_DOC,
        severity=severity,
        path="fields[c].type",
        message=message,
        hint="keep symbol(s) A, B",
        old_version="v1",
        new_version="working tree",
        direction=Direction.NEW_READS_OLD if severity is Severity.ERROR else None,
        location=Location(label=file, position=Position(3, 14), file=file),
    )
    return SubjectReport(
        subject="topic-a,b:c",
        level=CompatibilityLevel.FULL,
        candidate=SchemaVersion("working tree", document),
        baseline="files",
        compared=("v1",),
        findings=(finding,),
        notes=(note,) if note else (),
    )


def parse(line: str) -> tuple[str, dict[str, str], str]:
    match = COMMAND.match(line)
    assert match, f"not a workflow command: {line!r}"
    props = dict(prop.split("=", 1) for prop in match["props"].split(","))
    return match["command"], {k: unescape(v) for k, v in props.items()}, unescape(match["message"])


def test_annotations_escape_newlines_percent_commas_and_colons() -> None:
    message = "symbols A, B: 100% missing\r\nsecond line"
    file = "odd,dir/with:colon 50%.avsc"
    lines = render_github(
        [report(message, file, severity=Severity.ERROR, note="no baseline: 5% of\nit")],
        strict=False,
    ).splitlines()
    commands = [parse(line) for line in lines if line.startswith("::")]
    assert [c[0] for c in commands] == ["notice", "error"]
    _, notice_props, notice = commands[0]
    assert notice_props == {"title": "topic-a,b:c"}
    assert notice == "no baseline: 5% of\nit"
    _, props, text = commands[1]
    assert props == {
        "file": file,
        "line": "3",
        "col": "14",
        "title": "MISSING_ENUM_SYMBOLS fields[c].type",
    }
    assert text.startswith(f"topic-a,b:c: {message} (v1 -> working tree; new readers")
    assert text.endswith("Fix: keep symbol(s) A, B")
    # Everything else is plain log text, never a command.
    assert [line for line in lines if not line.startswith("::")] == [
        "FAIL topic-a,b:c (FULL, against files)"
    ]


def test_warnings_are_warnings_and_errors_under_strict() -> None:
    reports = [report("new field 'c' has no doc", "a.avsc", severity=Severity.WARNING)]
    (relaxed,) = [parse(line) for line in render_github(reports, strict=False).splitlines()[:1]]
    (strict,) = [parse(line) for line in render_github(reports, strict=True).splitlines()[:1]]
    assert (relaxed[0], strict[0]) == ("warning", "error")
