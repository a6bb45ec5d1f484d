"""A small request body that passes a route's validation, for the probes.

A probe that sends `{}` to a route whose body model has required fields gets a
422 from FastAPI's validation, which says nothing about what the probe came to
test: a request without credentials must get 401/403, and a lenient security
dependency (`auto_error=False`) that lets it through is hidden behind the 422.
So the body is built from the JSON Schema of the route's body: every required
field, each with the simplest value its schema accepts (the first enum member,
a number inside its bounds, a string of an allowed length and format, the
fewest items an array may hold). A pattern or a custom validator can still
refuse it; the probe then learns as little as before, never less.
"""

from __future__ import annotations

from typing import Any

_MAX_DEPTH = 8
_STRING_FORMATS = {
    "email": "probe@example.com",
    "uuid": "00000000-0000-4000-8000-000000000007",
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "ipv4": "192.0.2.7",
    "ipv6": "2001:db8::7",
    "duration": "PT1S",
}


class _NoSampleError(Exception):
    """The schema asks for something this module cannot build."""


def body_schema(route_view: Any) -> dict[str, Any] | None:
    """The JSON Schema of the route's JSON body (FastAPI's `body_field`), with its
    definitions, or None when there is none or it cannot be had."""
    body_field = getattr(route_view, "body_field", None)
    if body_field is None:
        return None
    annotation = getattr(getattr(body_field, "field_info", None), "annotation", None)
    schema: object = None
    try:
        if annotation is not None:
            from pydantic import TypeAdapter

            schema = TypeAdapter(annotation).json_schema()
        else:  # Pydantic 1: the model class is the field's type
            model: Any = getattr(body_field, "type_", None)
            if hasattr(model, "schema"):
                schema = model.schema()
    except Exception:  # the user's types may refuse a schema in many ways: no sample then
        return None
    return schema if isinstance(schema, dict) else None


def sample_body(schema: dict[str, Any]) -> Any:
    """The simplest JSON value `schema` accepts; raises LookupError when none can be built."""
    definitions = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    try:
        return _sample(schema, definitions, 0)
    except (_NoSampleError, RecursionError) as exc:
        raise LookupError(str(exc) or "no sample") from exc


def _sample(schema: Any, definitions: dict[str, Any], depth: int) -> Any:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        raise _NoSampleError("schema too deep or not an object")
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name not in definitions:
            raise _NoSampleError(f"unknown reference {ref}")
        return _sample(definitions[name], definitions, depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            usable = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return _sample((usable or options)[0], definitions, depth + 1)
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = _sample(part, definitions, depth + 1)
            if not isinstance(value, dict):
                return value
            merged.update(value)
        return merged
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") or {}
        return {name: _sample(properties.get(name, {}), definitions, depth + 1) for name in schema.get("required") or ()}
    if kind == "array":
        count = int(schema.get("minItems") or 0)
        items = schema.get("items") or schema.get("prefixItems")
        if isinstance(items, list):  # a tuple: one value per position
            return [_sample(item, definitions, depth + 1) for item in items]
        return [_sample(items or {}, definitions, depth + 1) for _ in range(count)]
    if kind == "string":
        return _string(schema)
    if kind in {"integer", "number"}:
        return _number(schema, integer=kind == "integer")
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    if kind is None and not schema:
        return "fx-sample"  # `Any`: anything goes
    raise _NoSampleError(f"no sample for a schema of type {kind!r}")


def _string(schema: dict[str, Any]) -> str:
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _STRING_FORMATS:
        return _STRING_FORMATS[fmt]
    value = "fx-sample"
    low = int(schema.get("minLength") or 0)
    high = schema.get("maxLength")
    if low > len(value):
        value += "x" * (low - len(value))
    if isinstance(high, int) and len(value) > high:
        value = "x" * max(low, min(high, 1))
    return value


def _number(schema: dict[str, Any], *, integer: bool) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value: float = 1
    if isinstance(low, int | float) and value <= low:
        value = low + 1 if "exclusiveMinimum" in schema and "minimum" not in schema else low
    if isinstance(high, int | float) and value >= high:
        value = high - 1 if "exclusiveMaximum" in schema and "maximum" not in schema else high
    multiple = schema.get("multipleOf")
    if isinstance(multiple, int | float) and multiple > 0:
        value = multiple * max(1, -(-value // multiple))
    return int(value) if integer else float(value)
