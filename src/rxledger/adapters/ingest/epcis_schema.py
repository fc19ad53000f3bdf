"""The EPCIS 2.0 JSON Schema, vendored in ``schemas/`` and loaded once into a draft-07 validator.

Two things keep a shipment of 10,000 serials fast (about 4x) without changing any verdict:

- ``$ref`` pointers inside the schema are replaced by the objects they point to when it is loaded.
  In draft-07 a ``$ref`` stands for its target and its siblings are ignored, so validation is the
  same; resolving tens of thousands of references was most of the time.
- ``items`` whose schema is only ``{"type": "string", "format": ...}`` (every EPC list) checks a
  list of strings in one pass. Formats are not asserted here (the reader checks times and EPCs
  itself, with messages that say what is wrong), so such a list is valid exactly when every item
  is a string; any other list goes through draft-07's own ``items``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft7Validator, validators

SCHEMA_FILE = "EPCIS-JSON-Schema.json"


def schema_text() -> str:
    """The vendored schema file as it is."""
    folder = resources.files("rxledger.adapters.ingest") / "schemas"
    return (folder / SCHEMA_FILE).read_text(encoding="utf-8")


_DRAFT7_ITEMS = Draft7Validator.VALIDATORS["items"]


def _items(validator: Any, items: Any, instance: Any, schema: Any) -> Any:
    """Draft-07 ``items``, with one pass over a list of strings checked against a string schema."""
    if (
        isinstance(items, dict)
        and items.get("type") == "string"
        and items.keys() <= {"type", "format"}
        and validator.format_checker is None
        and isinstance(instance, list)
        and all(isinstance(item, str) for item in instance)
    ):
        return
    yield from _DRAFT7_ITEMS(validator, items, instance, schema)


EpcisValidator = validators.extend(Draft7Validator, {"items": _items})


@lru_cache(maxsize=1)
def epcis_validator() -> Any:
    """The draft-07 validator of EPCIS 2.0 JSON documents, built on first use."""
    schema = json.loads(schema_text())
    return EpcisValidator(_inline_references(schema))


def _inline_references(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace each ``{"$ref": "#/..."}`` by the object it points to (shared, not copied)."""
    seen: set[int] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        slots = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(slots):
            target = _target(schema, value)
            node[key] = target
            if isinstance(target, dict | list):
                stack.append(target)
    return schema


def _target(schema: dict[str, Any], value: Any) -> Any:
    """Follow a chain of local references to the schema object at its end."""
    hops = 0
    while isinstance(value, dict) and isinstance(value.get("$ref"), str):
        reference: str = value["$ref"]
        if not reference.startswith("#/") or hops > 32:
            return value
        value = _resolve(schema, reference)
        hops += 1
    return value


def _resolve(schema: dict[str, Any], reference: str) -> Any:
    node: Any = schema
    for part in reference[2:].split("/"):
        key = unquote(part).replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node
