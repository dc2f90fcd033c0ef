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

import yaml

from audiorec import backbones, recommenders
from audiorec.planning import baseline_of, runs
from audiorec.schema import ConfigError, validate_against

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"
__all__ = ["ConfigError", "load_config", "load_schema", "validate_config"]


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


def _check_dataset(cfg: dict) -> None:
    """Yambda: no audio, and its event files of the chosen scale among the downloads."""
    data = cfg["dataset"]
    if data["format"] != "yambda":
        if cfg["split"]["method"] == "yambda":
            raise ConfigError(
                "config key split.method: yambda splits Yambda's log (dataset.format: yambda)"
            )
        return
    from audiorec.data import yambda

    for key in ("audio_dir", "id_information"):
        if data.get(key):
            raise ConfigError(
                f"config key dataset.{key}: Yambda publishes no audio or track files; set it to null "
                "(its audio vectors come as embeddings.parquet: a precomputed backbone)"
            )
    if cfg["split"].get("ties") == "file":
        raise ConfigError(
            "config key split.ties: Yambda's converted log keeps no file order; use ties: item"
        )
    files = cfg["download"]["files"]
    files += [f for f in yambda.files(data["yambda"]) if f not in files]


def _check_split(split: dict) -> None:
    if split["method"] == "hot_cold":
        _parse_date(split["test_date"], "split.test_date")
        if split["test_date"] is None:
            raise ConfigError("config key split.test_date: required when split.method is hot_cold")
        return
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


def _check_backbones(cfg: dict) -> None:
    n_cache = cfg["audio"]["n_shards"]
    for name, spec in cfg["backbones"].items():
        cls = _typed(backbones, spec, f"backbones.{name}")
        if cls.needs_audio and not cfg["dataset"]["audio_dir"]:
            raise ConfigError(
                f"config key dataset.audio_dir: backbone {name} ({spec['type']}) embeds audio, "
                "but no audio folder is set"
            )
        if (spec["n_shards"] or 0) > n_cache:
            raise ConfigError(
                f"config key backbones.{name}.n_shards: {spec['n_shards']} is more than "
                f"audio.n_shards ({n_cache}); an extraction job reads whole cache shards"
            )


def _check_probes(cfg: dict) -> None:
    from audiorec import probes

    block = cfg["probes"]
    if block["report_model"] not in block["models"]:
        raise ConfigError(
            f"config key probes.report_model: {block['report_model']!r} is not among "
            f"probes.models ({', '.join(block['models'])})"
        )
    for name, spec in block["tasks"].items():
        cls = _typed(probes, spec, f"probes.tasks.{name}")
        if cls.COLLECTION == "own" and not spec["root"]:
            raise ConfigError(
                f"config key probes.tasks.{name}.root: the task's files need a folder of their own"
            )
        for file in spec["remotes"]:
            if file not in cls.REMOTES:
                raise ConfigError(
                    f"config key probes.tasks.{name}.remotes.{file}: {spec['type']} fetches no such "
                    f"file (it fetches: {', '.join(cls.REMOTES) or 'nothing'})"
                )
    for backbone in block["backbones"] or []:
        if backbone not in cfg["backbones"]:
            raise ConfigError(
                f"config key probes.backbones: {backbone!r} is not a backbone of this config "
                f"(backbones: {', '.join(cfg['backbones'])})"
            )
    if block["tasks"]:
        from audiorec.probes import planning

        for name in block["tasks"]:
            if not planning.backbones(cfg, name):
                raise ConfigError(
                    f"config key probes.tasks.{name}: no backbone of probes.backbones can embed "
                    "its clips (a task with audio of its own needs a backbone that reads audio)"
                )


def _check_recommenders(cfg: dict) -> None:
    configured = set(cfg["backbones"])
    for name, spec in cfg["recommenders"].items():
        key = f"recommenders.{name}"
        cls = _typed(recommenders, spec, key)
        content = [v for v in spec["variants"] if not cls.content_free(v, spec["params"])]
        if cls.uses_content:
            bad = sorted(set(spec["variants"]) - set(cls.supported_variants))
            if bad:
                raise ConfigError(
                    f"config key {key}.variants: {', '.join(bad)} not supported by "
                    f"{spec['type']} (supported: {', '.join(cls.supported_variants)})"
                )
            unknown = sorted(set(spec["backbones"] or []) - configured)
            if unknown:
                raise ConfigError(
                    f"config key {key}.backbones: {', '.join(unknown)} not in backbones"
                )
        if spec["backbones"] and not content:
            raise ConfigError(
                f"config key {key}.backbones: {spec['type']} with variants "
                f"{', '.join(spec['variants'])} uses no audio content (its runs go under none/)"
            )


def _check_run_refs(cfg: dict) -> None:
    """Every baseline names a configured run, for every row it applies to."""
    all_runs = runs(cfg)
    names = {r.name for r in all_runs}
    default = cfg["significance"]["baseline"]
    for run in all_runs:
        own = cfg["recommenders"][run.recommender]["baseline"]
        key = f"recommenders.{run.recommender}.baseline" if own else "significance.baseline"
        ref = baseline_of(own or default, run.name, names)
        if ref not in names:
            raise ConfigError(
                f"config key {key}: {ref!r} (the baseline of {run.name}) is not one of "
                f"the configured runs (e.g. {', '.join(sorted(names)[:4])})"
            )


def _check_sweeps(cfg: dict) -> None:
    """Swept recommenders and backbones exist; a layer sweep needs every layer stored."""
    sweeps = cfg["sweeps"]
    for kind in ("training_size", "layers"):
        for rec in sweeps[kind]["recommenders"] or []:
            if rec not in cfg["recommenders"]:
                raise ConfigError(
                    f"config key sweeps.{kind}.recommenders: {rec!r} is not a configured "
                    f"recommender ({', '.join(cfg['recommenders'])})"
                )
    for name in sweeps["layers"]["backbones"]:
        key = f"sweeps.layers.backbones.{name}"
        if name not in cfg["backbones"]:
            raise ConfigError(f"config key {key}: no backbone {name!r} is configured")
        if cfg["backbones"][name]["params"].get("layer") != "all":
            raise ConfigError(
                f"config key {key}: backbone {name} keeps one layer; set "
                f"backbones.{name}.params.layer: all to compare layers"
            )


def _check_reported(cfg: dict) -> None:
    """Published figures name configured runs and a metric the runs are scored at."""
    reported = cfg["report"]["reported"]
    if not reported:
        return
    names = {r.name for r in runs(cfg)}
    unknown = sorted(set(reported["values"]) - names)
    if unknown:
        raise ConfigError(
            f"config key report.reported.values: {', '.join(unknown)} "
            f"{'is not a configured run' if len(unknown) == 1 else 'are not configured runs'}"
        )
    _metric, _, k = reported["metric"].partition("@")
    if int(k) not in cfg["evaluation"]["ks"]:
        raise ConfigError(
            f"config key report.reported.metric: {reported['metric']} is not computed "
            f"(evaluation.ks: {cfg['evaluation']['ks']})"
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
    _check_dataset(cfg)
    _check_split(cfg["split"])
    _check_backbones(cfg)
    _check_recommenders(cfg)
    _check_run_refs(cfg)
    _check_sweeps(cfg)
    _check_reported(cfg)
    _check_probes(cfg)
    ordered = canonical(cfg)
    cfg.clear()
    cfg.update(ordered)
    return cfg


SITE_KEYS = ("account", "cpu_partition", "gpu_partition", "gpu_model")


def load_site(path: str | None, basedir: str | Path = REPO_ROOT) -> dict:
    """The cluster's account and partitions from a site file (all None without one).

    A relative path is looked up from the working directory, then from the
    workflow's folder, so ``site=profiles/slurm/site.yaml`` works from both.
    """
    site = dict.fromkeys(SITE_KEYS)
    if not path:
        return site
    candidates = [Path(path)] if Path(path).is_absolute() else [Path(path), Path(basedir) / path]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise ConfigError(
            f"config key site: {path} not found (looked in {', '.join(map(str, candidates))})"
        )
    try:
        loaded = yaml.safe_load(found.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{found}: not valid YAML: {err}") from err
    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {k: {"type": ["string", "null"], "default": None} for k in SITE_KEYS},
    }
    validate_against(loaded, schema, root=str(found))
    site.update(loaded)
    return site
