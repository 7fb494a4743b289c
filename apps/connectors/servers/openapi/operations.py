"""From an OpenAPI 3 document to tools: one per operation, its JSON schema built from parameters + requestBody.

Component schemas referenced by an operation travel with its tool as ``$defs`` (``#/components/schemas/X``
becomes ``#/$defs/X``), so every tool schema is self-contained and valid for a JSON Schema validator;
OpenAPI 3.0's ``nullable`` becomes a ``null`` type. GET and HEAD read, every other method writes, unless
the connector's settings name an operation as read or write explicitly.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any

import yaml

METHODS = ("get", "head", "post", "put", "patch", "delete", "options")
READ_METHODS = {"get", "head"}


class SpecError(ValueError):
    """The document is not an OpenAPI 3 document Gaby can use; the message says what is wrong."""


@dataclass(frozen=True)
class Param:
    name: str  # as the API knows it
    arg: str  # as the tool's argument is called (prefixed when two locations share a name)
    location: str  # path | query | header | cookie
    required: bool


@dataclass
class Operation:
    tool: str
    method: str
    path: str
    summary: str
    params: list[Param]
    body_required: bool
    body_media: str | None
    input_schema: dict[str, Any]
    writes: bool
    description: str = ""
    declared: dict[str, Any] = field(default_factory=dict)


def parse_document(text: str, *, source: str) -> dict[str, Any]:
    try:
        document = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SpecError(f"{source} is neither JSON nor YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise SpecError(f"{source} is not an OpenAPI 3 document (no top-level 'openapi: 3.x').")
    if not isinstance(document.get("paths"), dict) or not document["paths"]:
        raise SpecError(f"{source} has no paths: there is nothing to call.")
    return document


def _resolve(document: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """Follow a local ``$ref`` (parameters, request bodies); schemas keep theirs (see ``_schema``)."""
    while isinstance(node, dict) and "$ref" in node and depth < 20:
        ref = str(node["$ref"])
        if not ref.startswith("#/"):
            raise SpecError(f"Only local references are supported, not {ref!r}.")
        node = document
        for part in ref[2:].split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
        depth += 1
    return node


def _schema(node: Any, defs: set[str]) -> Any:
    """An OpenAPI schema as JSON Schema: refs pointed at $defs (collected in ``defs``), nullable as a type."""
    if isinstance(node, list):
        return [_schema(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
            name = value.rsplit("/", 1)[-1]
            defs.add(name)
            out["$ref"] = f"#/$defs/{name}"
        elif key in ("nullable", "example", "xml", "externalDocs", "discriminator", "readOnly", "writeOnly"):
            continue
        else:
            out[key] = _schema(value, defs)
    if node.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _with_defs(document: dict[str, Any], schema: dict[str, Any], names: set[str]) -> dict[str, Any]:
    components = document.get("components", {}).get("schemas", {})
    defs: dict[str, Any] = {}
    pending = set(names)
    while pending:
        name = pending.pop()
        if name in defs:
            continue
        found: set[str] = set()
        defs[name] = _schema(copy.deepcopy(components.get(name, {})), found)
        pending |= found - defs.keys()
    if defs:
        schema["$defs"] = defs
    return schema


def tool_name(operation: dict[str, Any], method: str, path: str) -> str:
    raw = str(operation.get("operationId") or f"{method}_{path}")
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", raw)
    name = re.sub(r"_+", "_", name).strip("_")
    return name[:64] or method


def build_operations(
    document: dict[str, Any], *, read_ops: Set[str] = frozenset(), write_ops: Set[str] = frozenset()
) -> list[Operation]:
    operations: list[Operation] = []
    seen: set[str] = set()
    for path, item in document["paths"].items():
        item = _resolve(document, item)
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters", [])
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            name = tool_name(op, method, path)
            while name in seen:
                name = f"{name}_{method}"[:64] if not name.endswith(method) else f"{name}_2"
            seen.add(name)
            operations.append(_operation(document, name, method, path, op, shared, read_ops, write_ops))
    return operations


def _operation(
    document: dict[str, Any],
    name: str,
    method: str,
    path: str,
    op: dict[str, Any],
    shared: list[Any],
    read_ops: Set[str],
    write_ops: Set[str],
) -> Operation:
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*shared, *op.get("parameters", [])]:  # an operation's parameter overrides the path's
        param = _resolve(document, raw)
        if isinstance(param, dict) and param.get("name") and param.get("in"):
            merged[(param["name"], param["in"])] = param
    names = [key[0] for key in merged]
    properties: dict[str, Any] = {}
    required: list[str] = []
    params: list[Param] = []
    defs: set[str] = set()
    for (pname, location), param in merged.items():
        arg = pname if names.count(pname) == 1 else f"{location}_{pname}"
        arg = re.sub(r"[^A-Za-z0-9_.-]", "_", arg)
        schema = _schema(copy.deepcopy(param.get("schema", {"type": "string"})), defs)
        if param.get("description"):
            schema = {**schema, "description": str(param["description"])[:500]}
        properties[arg] = schema
        is_required = bool(param.get("required")) or location == "path"
        if is_required:
            required.append(arg)
        params.append(Param(name=pname, arg=arg, location=location, required=is_required))
    body = _resolve(document, op.get("requestBody")) if op.get("requestBody") else None
    media: str | None = None
    body_required = False
    if isinstance(body, dict):
        content = body.get("content", {})
        media = next((m for m in content if "json" in m), None) or next(iter(content), None)
        if media is not None:
            body_schema = _schema(copy.deepcopy(content[media].get("schema", {})), defs)
            properties["body"] = {**body_schema, "description": f"The request body ({media})."}
            body_required = bool(body.get("required"))
            if body_required:
                required.append("body")
    writes = method not in READ_METHODS
    if name in read_ops or op.get("operationId") in read_ops:
        writes = False
    if name in write_ops or op.get("operationId") in write_ops:
        writes = True
    if writes:
        properties["dry_run"] = {
            "type": "boolean",
            "default": True,
            "description": "Return the exact request without sending it (the default). Set false to send it.",
        }
    schema = _with_defs(document, {"type": "object", "properties": properties, "required": required}, defs)
    summary = str(op.get("summary") or "").strip()
    description = str(op.get("description") or "").strip()
    text = f"{method.upper()} {path}" + (f" — {summary}" if summary else "")
    if description and description != summary:
        text += f"\n{description[:1500]}"
    return Operation(
        tool=name,
        method=method,
        path=path,
        summary=text,
        params=params,
        body_required=body_required,
        body_media=media,
        input_schema=schema,
        writes=writes,
        description=description,
    )
