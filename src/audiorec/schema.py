"""Checking a mapping against a JSON schema, defaults filled, errors naming dotted keys.

A leaf module: the config, the backbone and the recommender base classes all
use it, and it imports nothing of audiorec.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import jsonschema


class ConfigError(ValueError):
    """A configuration problem, with the dotted key that causes it."""


def _with_defaults(validator_class):
    """A validator that also writes schema defaults into the instance.

    jsonschema validates without filling defaults; the usual recipe extends the
    `properties` keyword so that missing keys get their declared default
    before their own subschema is checked.
    """
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_FillingValidator = _with_defaults(jsonschema.Draft202012Validator)


def _key_path(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _describe(error: jsonschema.ValidationError, root: str) -> str:
    where = _key_path([*([root] if root else []), *error.absolute_path])
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        names = ", ".join(f"{where}.{k}" if where != "<top level>" else k for k in extra)
        return f"unknown config key {names}{hint}"
    if error.validator == "required":
        return f"config key {where}: {error.message}"
    return f"config key {where}: {error.message}"


def validate_against(instance: dict, schema: Mapping, root: str = "") -> dict:
    """Validate `instance` in place (defaults filled); raise ConfigError naming keys."""
    validator = _FillingValidator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError("; ".join(_describe(e, root) for e in errors))
    return instance


def choice(*values, description: str | None = None) -> dict:
    """A parameter's schema that takes one of ``values``, the first by default."""
    schema = {"enum": list(values), "default": values[0]}
    if description:
        schema["description"] = description
    return schema
