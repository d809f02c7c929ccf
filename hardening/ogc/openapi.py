"""The OGC API's own definition at /ogc/api: the /ogc part of the app's OpenAPI document,
rewritten as OpenAPI 3.0 (the `oas30` conformance class; FastAPI writes 3.1).

The rewrite covers what FastAPI emits: `anyOf` with null and type lists become `nullable`,
`const` becomes a one-value `enum`, `examples` in schemas become `example`. The `limit`
parameter gets the OGC maximum, which GDAL's and QGIS's clients read to size their pages
(a larger limit is still served, clamped; it is not refused).
"""

from __future__ import annotations

import copy
import json
from typing import Any

OPENAPI_30 = "3.0.3"


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            schema.pop(key)
            if len(rest) == 1 and "$ref" not in rest[0]:
                schema.update(rest[0])
            elif len(rest) == 1:
                schema["allOf"] = rest
            else:
                schema[key] = rest
            schema["nullable"] = True
    kind = schema.get("type")
    if isinstance(kind, list):
        others = [k for k in kind if k != "null"]
        if len(others) == 1:
            schema["type"] = others[0]
        else:
            schema.pop("type")
        if "null" in kind:
            schema["nullable"] = True
    return schema


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _convert(value) for key, value in node.items()}
    out = _nullable(out)
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if isinstance(out.get("examples"), list) and ("type" in out or "$ref" in out):
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    return out


def _refs(node: Any) -> set[str]:
    text = json.dumps(node)
    found: set[str] = set()
    marker = '"$ref": "#/components/schemas/'
    start = text.find(marker)
    while start >= 0:
        end = text.index('"', start + len(marker))
        found.add(text[start + len(marker) : end])
        start = text.find(marker, end)
    return found


def ogc_definition(full: dict[str, Any], max_limit: int, default_limit: int) -> dict[str, Any]:
    """The /ogc paths of the app's document, with the schemas they use, as OpenAPI 3.0."""
    paths = {p: copy.deepcopy(v) for p, v in full.get("paths", {}).items() if p.startswith("/ogc")}
    for operations in paths.values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "limit":
                    parameter["schema"] = {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": max_limit,
                        "default": default_limit,
                    }
    schemas = full.get("components", {}).get("schemas", {})
    wanted = _refs(paths)
    while True:  # schemas referenced by the schemas found so far
        more = set().union(*(_refs(schemas[n]) for n in wanted if n in schemas)) - wanted
        if not more:
            break
        wanted |= more
    components: dict[str, Any] = {
        "schemas": {n: schemas[n] for n in sorted(wanted) if n in schemas}
    }
    security = full.get("components", {}).get("securitySchemes")
    if security:
        components["securitySchemes"] = security
    document = {
        "openapi": OPENAPI_30,
        "info": {**full.get("info", {}), "title": "OGC API - Features"},
        "paths": paths,
        "components": components,
    }
    converted: dict[str, Any] = _convert(document)
    return converted
