"""Which jobs a validated config asks for: runs, their backbones, sample rates, shards.

A run is one (backbone, recommender, variant, seed). A run that reads no
audio content (popularity, random, a trained model's ``random`` table of its
own width) is filed under the backbone ``none``, so no backbone's change
touches it and it runs once, not once per backbone.
"""

from __future__ import annotations

from typing import NamedTuple

from audiorec import backbones, recommenders

NO_BACKBONE = "none"
NO_VARIANT = "none"


class Run(NamedTuple):
    backbone: str
    recommender: str
    variant: str
    seed: int

    @property
    def name(self) -> str:
        """backbone/recommender/variant: the row of the result tables (seeds averaged)."""
        return f"{self.backbone}/{self.recommender}/{self.variant}"


def runs(cfg: dict) -> list[Run]:
    """Every run the config asks for, each once."""
    out: dict[Run, None] = {}
    for rec, spec in cfg["recommenders"].items():
        cls = recommenders.get(spec["type"])
        if not cls.uses_content:
            pairs = [(NO_BACKBONE, NO_VARIANT)]
        else:
            chosen = spec["backbones"] or list(cfg["backbones"])
            pairs = []
            for variant in spec["variants"]:
                if cls.content_free(variant, spec["params"]):
                    pairs.append((NO_BACKBONE, variant))
                else:
                    pairs += [(b, variant) for b in chosen]
        for b, v in pairs:
            for seed in spec["seeds"]:
                out[Run(b, rec, v, seed)] = None
    return list(out)


def run_names(cfg: dict) -> list[str]:
    return sorted({r.name for r in runs(cfg)})


def log_files(cfg: dict) -> list[str]:
    """The dataset files the listening log is converted from (Yambda: one per event type)."""
    import os

    data = cfg["dataset"]
    if data["format"] == "yambda":
        from audiorec.data import yambda

        return [os.path.join(data["root"], f) for f in yambda.files(data["yambda"])]
    return [os.path.join(data["root"], data["listening_log"])]


def weights_spec(spec: dict) -> dict:
    """What of a backbone entry decides its weights: its type and the WEIGHT_PARAMS given."""
    cls = backbones.get(spec["type"])
    params = spec.get("params", {})
    keys = cls.WEIGHT_PARAMS or tuple(params)
    return {"type": spec["type"], "params": {k: params[k] for k in keys if k in params}}


def weights_key(spec: dict) -> str:
    """One name per set of weights: entries with the same checkpoint share one fetch job."""
    import hashlib
    import json

    chosen = weights_spec(spec)
    text = json.dumps(chosen["params"], sort_keys=True, default=str)
    return f"{chosen['type']}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def weights_jobs(cfg: dict) -> dict[str, dict]:
    """weights key -> the weights spec of the audio backbones that load weights."""
    out = {}
    for name in audio_backbones(cfg):
        spec = cfg["backbones"][name]
        if backbones.get(spec["type"]).needs_weights:
            out.setdefault(weights_key(spec), weights_spec(spec))
    return out


def backbone_sample_rate(spec: dict) -> int:
    return int(backbones.get(spec["type"]).sample_rate_for(spec["params"]))


def audio_backbones(cfg: dict) -> list[str]:
    """Backbones that embed audio (the others read precomputed vectors)."""
    return [b for b, spec in cfg["backbones"].items() if backbones.get(spec["type"]).needs_audio]


def sample_rates(cfg: dict) -> list[int]:
    """Distinct rates the audio cache must provide, one per configured backbone rate."""
    return sorted({backbone_sample_rate(cfg["backbones"][b]) for b in audio_backbones(cfg)})


def backbone_shards(cfg: dict, name: str) -> int:
    """Extraction jobs of one backbone: its own ``n_shards``, or the audio cache's."""
    return cfg["backbones"][name]["n_shards"] or cfg["audio"]["n_shards"]


def cache_shards_of(shard: int, n_shards: int, n_cache: int) -> list[int]:
    """The audio-cache shards that extraction shard ``shard`` of ``n_shards`` reads: a
    contiguous run of them, so that extraction shards too cover the catalogue in order."""
    bounds = [round(i * n_cache / n_shards) for i in range(n_shards + 1)]
    return list(range(bounds[shard], bounds[shard + 1]))


def baseline_of(template: str, run_name: str, names) -> str:
    """The run a row is tested against: ``template`` with the row's ``{backbone}`` and
    ``{variant}``, found under ``none`` when the baseline reads no content."""
    backbone, _, variant = run_name.split("/")
    name = template.format(backbone=backbone, variant=variant)
    if name not in names:
        free = "/".join([NO_BACKBONE, *name.split("/")[1:]])
        if free in names:
            return free
    return name


def sweep_runs(cfg: dict) -> list[tuple[str, Run]]:
    """Extra runs of the ``sweeps`` section, as (sweep, run): ``size<percent>`` trains on
    that percentage of each user's train pairs, ``layer<n>`` on hidden state n of a
    backbone that keeps every layer. The main runs are the 100 % and chosen-layer points."""
    out: dict[tuple[str, Run], None] = {}
    main = runs(cfg)
    sizes = cfg["sweeps"]["training_size"]
    for percent in sizes["percents"]:
        if percent == 100:
            continue
        for r in main:
            if sizes["recommenders"] is None or r.recommender in sizes["recommenders"]:
                out[(f"size{percent}", r)] = None
    layers = cfg["sweeps"]["layers"]
    for backbone, chosen in layers["backbones"].items():
        for layer in chosen:
            for r in main:
                if r.backbone == backbone and (
                    layers["recommenders"] is None or r.recommender in layers["recommenders"]
                ):
                    out[(f"layer{layer}", r)] = None
    return list(out)


def parse_sweep(sweep: str) -> tuple[str, int]:
    """("size", 25) for "size25", ("layer", 3) for "layer3"."""
    kind = sweep.rstrip("0123456789")
    return kind, int(sweep[len(kind) :])
