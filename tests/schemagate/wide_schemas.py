"""Wide records for the linear-growth test and the comparison benchmark."""

import json

_TYPES = ["int", "string", ["null", "long"], {"type": "array", "items": "double"}]


def wide_record(fields: int, *, documented: bool = True) -> str:
    """A record of ``fields`` fields of mixed types, as schema text."""
    schema = {
        "type": "record",
        "name": "Wide",
        "namespace": "bench",
        "fields": [
            {
                "name": f"f{index}",
                "type": _TYPES[index % len(_TYPES)],
                **({"doc": "x"} if documented else {}),
            }
            for index in range(fields)
        ],
    }
    return json.dumps(schema, indent=2)
