"""What any tool call must get right before it is sent (``before_call``), whoever asked for it.

The connector is enabled, the tool is known and enabled, and the arguments are valid against the tool's
JSON schema; otherwise ``ToolCallRefused`` says what to fix and nothing is sent. Whether the call is
*allowed* (scopes, autonomy, requester, approvals) was decided before, in ``apps.safety.enforcement``.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema
import structlog

from apps.connectors.models import Connector, ConnectorTool

log = structlog.get_logger(__name__)


class ToolCallRefused(Exception):
    """``before_call`` refused the call; nothing was sent to the server. The message says what to fix."""


def before_call(*, connector: Connector, tool: ConnectorTool | None, arguments: Any) -> None:
    """What any call must get right before it is sent; safety decisions were made before, in ``run_tool``."""
    if not connector.is_usable:
        raise ToolCallRefused(f"{connector.name} is disabled; an admin can re-enable it on the Connectors page.")
    if tool is None or not tool.present:
        raise ToolCallRefused(f"{connector.name} has no tool with that name; refresh its tools or check the name.")
    if not tool.enabled:
        raise ToolCallRefused(f"The tool {tool.name} of {connector.name} is turned off.")
    if not isinstance(arguments, dict):
        raise ToolCallRefused("Tool arguments must be a JSON object.")
    validator = _validator(json.dumps(tool.input_schema or {"type": "object"}, sort_keys=True))
    if validator is None:
        log.warning("connector_tool_schema_invalid", connector=str(connector.pk), tool=tool.name)
        return
    error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))  # as jsonschema.validate picks it
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "arguments"
        raise ToolCallRefused(f"Invalid arguments for {tool.name} ({where}): {error.message}")


@functools.lru_cache(maxsize=512)
def _validator(schema_json: str) -> Any:
    """A checked validator per tool schema (None for an invalid schema): checking a schema against its
    metaschema costs more than validating the arguments, and a tool's schema changes only on a tool sync."""
    schema = json.loads(schema_json)
    validator_class = jsonschema.validators.validator_for(schema)
    try:
        validator_class.check_schema(schema)
    except jsonschema.SchemaError:
        return None
    return validator_class(schema)
