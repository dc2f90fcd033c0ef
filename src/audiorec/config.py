"""Configuration checking: refuse a bad config before any job starts.

The workflow's JSON schema covers the shape of the config; each backbone and
recommender module declares the schema of its own ``params`` so that adding one
stays a one-file change. Errors name the offending key as a dotted path.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"

NO_BACKBONE = "none"
NO_VARIANT = "none"


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


def _inline_refs(node, defs: dict):
    """Replace local ``$ref``s by their target so that nested defaults get filled too."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            target = _inline_refs(copy.deepcopy(defs[ref.removeprefix("#/$defs/")]), defs)
            rest = {k: _inline_refs(v, defs) for k, v in node.items() if k != "$ref"}
            return {**target, **rest}
        return {k: _inline_refs(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


def load_schema(path: str | Path | None = None) -> dict:
    with open(path or SCHEMA_PATH) as fh:
        schema = yaml.safe_load(fh)
    return _inline_refs(schema, schema.get("$defs", {}))


def load_config(path: str | Path) -> dict:
    path = Path(path)
    try:
        with open(path) as fh:
            cfg = yaml.safe_load(fh)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys")
    return validate_config(cfg)


def _parse_date(value: str | None, key: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError as err:
        raise ConfigError(f"config key {key}: {value!r} is not a date (YYYY-MM-DD)") from err


def _check_split(split: dict) -> None:
    if split["method"] != "global_time":
        return
    start = _parse_date(split["start_date"], "split.start_date")
    test = _parse_date(split["test_date"], "split.test_date")
    end = _parse_date(split["end_date"], "split.end_date")
    if test is None:
        raise ConfigError("config key split.test_date: required when split.method is global_time")
    if start is not None and start >= test:
        raise ConfigError("config key split.start_date: must be before split.test_date")
    if end is not None and end <= test:
        raise ConfigError("config key split.end_date: must be after split.test_date")


def _typed(registry, spec: dict, key: str):
    """The class a config entry's ``type`` names, its ``params`` checked against its schema."""
    try:
        cls = registry.get(spec["type"])
    except KeyError as err:
        raise ConfigError(f"config key {key}.type: {err.args[0]}") from err
    validate_against(spec["params"], cls.params_schema(), root=f"{key}.params")
    return cls


def _check_backbones(backbones: dict) -> None:
    from audiorec import backbones as registry

    for name, spec in backbones.items():
        _typed(registry, spec, f"backbones.{name}")


def _check_recommenders(cfg: dict) -> None:
    from audiorec import recommenders as registry

    backbones = set(cfg["backbones"])
    for name, spec in cfg["recommenders"].items():
        key = f"recommenders.{name}"
        cls = _typed(registry, spec, key)
        if cls.uses_content:
            bad = sorted(set(spec["variants"]) - set(cls.supported_variants))
            if bad:
                raise ConfigError(
                    f"config key {key}.variants: {', '.join(bad)} not supported by "
                    f"{spec['type']} (supported: {', '.join(cls.supported_variants)})"
                )
            unknown = sorted(set(spec["backbones"] or []) - backbones)
            if unknown:
                raise ConfigError(
                    f"config key {key}.backbones: {', '.join(unknown)} not in backbones"
                )
        elif spec["backbones"]:
            raise ConfigError(f"config key {key}.backbones: {spec['type']} uses no audio content")


def _check_run_refs(cfg: dict) -> None:
    names = set(run_names(cfg))
    refs = [("significance.baseline", cfg["significance"]["baseline"])]
    refs += [
        (f"recommenders.{r}.baseline", spec["baseline"])
        for r, spec in cfg["recommenders"].items()
        if spec["baseline"]
    ]
    for key, ref in refs:
        if "{" in ref:  # templated per row; checked when the table is built
            continue
        if ref not in names:
            raise ConfigError(
                f"config key {key}: {ref!r} is not one of the configured runs "
                f"(e.g. {sorted(names)[:4]})"
            )


def canonical(obj: Any) -> Any:
    """Mappings with sorted keys, recursively.

    Snakemake decides whether a job's params changed by comparing their text,
    so the order keys were written in must not matter.
    """
    if isinstance(obj, Mapping):
        return {k: canonical(obj[k]) for k in sorted(obj, key=str)}
    if isinstance(obj, list):
        return [canonical(v) for v in obj]
    return obj


def validate_config(cfg: dict, schema: Mapping | None = None) -> dict:
    """Validate, fill defaults and sort keys, all in place; returns the same dict."""
    validate_against(cfg, schema or load_schema())
    _check_split(cfg["split"])
    _check_backbones(cfg["backbones"])
    _check_recommenders(cfg)
    _check_run_refs(cfg)
    ordered = canonical(cfg)
    cfg.clear()
    cfg.update(ordered)
    return cfg


def runs(cfg: dict) -> list[tuple[str, str, str, int]]:
    """Every (backbone, recommender, variant, seed) job the config asks for."""
    from audiorec import recommenders as registry

    out = []
    for rec, spec in cfg["recommenders"].items():
        cls = registry.get(spec["type"])
        if cls.uses_content:
            chosen = spec["backbones"] or list(cfg["backbones"])
            pairs = [(b, v) for b in chosen for v in spec["variants"]]
        else:
            pairs = [(NO_BACKBONE, NO_VARIANT)]
        out += [(b, rec, v, s) for b, v in pairs for s in spec["seeds"]]
    return out


def run_names(cfg: dict) -> list[str]:
    return sorted({f"{b}/{r}/{v}" for b, r, v, _ in runs(cfg)})


def sample_rates(cfg: dict) -> list[int]:
    """Distinct rates the audio cache must provide, one per configured backbone rate."""
    return sorted({backbone_sample_rate(spec) for spec in cfg["backbones"].values()})


def backbone_sample_rate(spec: dict) -> int:
    from audiorec import backbones as registry

    return int(registry.get(spec["type"]).sample_rate_for(spec["params"]))


def to_plain(obj: Any) -> Any:
    """Snakemake hands params over as its own mapping types; make them plain."""
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj
