"""What a preset costs on the full data: CPU- and GPU-hours, memory and disk, per stage.

    python -m audiorec.cost --configfile presets/paper.yaml [presets/corrected.yaml]

Each figure is a measured per-unit cost (``cost_units.yaml``: what was timed,
by which command, on which machine) multiplied by the preset's counts on the
dataset's full size (``DATASETS``: Music4All-Onion's published sizes and the
2024 split's; Yambda's per scale): clips per backbone, train pairs, users and
items, training epochs per run (``max_epochs``,
an upper bound: early stopping ends most runs sooner), evaluated users per
run. Where no GPU has measured a unit, the GPU column is the CPU figure
scaled by nothing: it says ``CPU-derived`` and gives the CPU-hours a GPU job
of the cluster would at most need; the study's own GPU timings are printed
beside it where it reported them.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

UNITS = Path(__file__).with_name("cost_units.yaml")

#: full-size counts per dataset format (Music4All-Onion: the record and the 2024 split)
DATASETS = {
    "onion": {
        "tracks": 56512,
        "events": 252984396,
        "users": 119140,
        "train_users": 17053,
        "train_pairs": 5122221,
        "test_users": 6092,
        "val_users": 6092,
        "clip_seconds": 30.0,
    },
}
DATASETS["music4all"] = DATASETS["onion"]
# Yambda's Listen+ log (listens of at least half the track) per scale. 50m: counted on the
# published files (29,439,278 events, 9,209 users, 631,003 tracks); 500m and 5b: the
# published listens and tracks scaled by 50m's Listen+ shares (0.634 of listens, 0.676 of
# tracks). Train pairs (unique user-track pairs before the validation day) are taken as
# 0.4 of the events and the evaluated users as 0.3 of the users: assumptions until a
# split's stats.tsv replaces them. No clips: Yambda's audio vectors come precomputed.
_YAMBDA = {
    "50m": (29_439_278, 9_209, 631_003),
    "500m": (round(466_512_103 * 0.634), 100_000, round(3_004_578 * 0.676)),
    "5b": (round(4_649_567_411 * 0.634), 1_000_000, round(9_390_623 * 0.676)),
}
for _scale, (_events, _users, _tracks) in _YAMBDA.items():
    DATASETS[f"yambda/{_scale}"] = {
        "tracks": _tracks,
        "events": _events,
        "users": _users,
        "train_users": _users,
        "train_pairs": round(0.4 * _events),
        "test_users": round(0.15 * _users),
        "val_users": round(0.15 * _users),
        "clip_seconds": 30.0,
    }


def dataset_size(cfg: dict) -> dict:
    """The full-size counts of the config's dataset (Yambda: of its scale)."""
    data = cfg["dataset"]
    if data["format"] == "yambda":
        return DATASETS[f"yambda/{data['yambda']['scale']}"]
    return DATASETS.get(data["format"], DATASETS["onion"])


def _count(size: dict, per: str) -> float:
    """How many of a training unit the dataset holds."""
    return {
        "pair": size["train_pairs"],
        "user": size["train_users"],
        "user_item": size["train_users"] * size["tracks"],
        "item": size["tracks"],
        "item3": float(size["tracks"]) ** 3,
        "fit": 1,
    }[per]


@dataclass
class Line:
    stage: str
    what: str
    units: float
    unit: str
    cpu_hours: float
    gpu_hours: float | None
    gpu_basis: str
    peak_gb: float
    disk_gb: float
    source: str


def units() -> dict:
    return yaml.safe_load(UNITS.read_text())


def _backbone_unit(table: dict, spec: dict) -> dict:
    kind = spec["type"]
    variant = table["backbones"].get(kind, {})
    key = spec.get("params", {}).get("checkpoint") or "default"
    return variant.get(key) or variant.get("default") or {}


def estimate(cfg: dict) -> list[Line]:
    """One line per stage of the validated config `cfg` on its dataset's full size."""
    from audiorec import planning

    table = units()
    size = dataset_size(cfg)
    lines: list[Line] = []
    stages = table["stages"]
    conv = stages.get(f"convert_and_split_{cfg['dataset']['format']}", stages["convert_and_split"])
    events = size["events"] / 1e6
    lines.append(
        Line(
            "data",
            "convert the log, split",
            events,
            "M events",
            events * conv["seconds_per_m_events"] / 3600,
            None,
            "CPU only",
            conv["peak_gb"],
            events * conv["disk_gb_per_m_events"],
            conv["source"],
        )
    )
    clip = min(
        cfg.get("audio", {}).get("max_seconds") or size["clip_seconds"], size["clip_seconds"]
    )
    for rate in planning.sample_rates(cfg):
        # the cache's FLAC of 24-bit samples: 2.14 bytes a sample on real music (16 kHz)
        gb = size["tracks"] * clip * rate * table["stages"]["resample"]["bytes_per_sample"] / 1e9
        lines.append(
            Line(
                "audio",
                f"resample to {rate} Hz",
                size["tracks"],
                "clips",
                size["tracks"] * table["stages"]["resample"]["seconds_per_clip"] / 3600,
                None,
                "CPU only",
                table["stages"]["resample"]["peak_gb"],
                gb,
                table["stages"]["resample"]["source"],
            )
        )
    for name in planning.audio_backbones(cfg):
        spec = cfg["backbones"][name]
        unit = _backbone_unit(table, spec)
        if not unit:
            lines.append(
                Line(
                    "extract",
                    name,
                    size["tracks"],
                    "clips",
                    math.nan,
                    None,
                    "no measured unit",
                    math.nan,
                    math.nan,
                    "not measured",
                )
            )
            continue
        seconds = size["tracks"] * unit["cpu_seconds_per_clip"]
        layers = unit.get("layers", 1) if spec.get("params", {}).get("layer") == "all" else 1
        disk = size["tracks"] * unit["dim"] * 4 * (1 + layers if layers > 1 else 1) / 1e9
        gpu = unit.get("gpu_seconds_per_clip")
        lines.append(
            Line(
                "extract",
                name,
                size["tracks"],
                "clips",
                seconds / 3600,
                (size["tracks"] * gpu / 3600) if gpu else seconds / 3600,
                "GPU-measured" if gpu else "CPU-derived",
                unit["peak_gb"],
                disk,
                unit["source"],
            )
        )
    for run in planning.runs(cfg):
        spec = cfg["recommenders"][run.recommender]
        unit = table["recommenders"].get(spec["type"], {})
        if not unit:
            continue
        key = unit.get("epochs_param", "max_epochs")
        epochs = spec.get("params", {}).get(key, 100) if unit.get("per_epoch") else 1
        dim = _run_dim(cfg, run, table)
        scale = _train_scale(unit, dim, size["tracks"], unit.get("items"))
        seconds = epochs * unit["cpu_seconds_per"] * _count(size, unit["per"]) * scale
        per_item2 = unit.get("peak_bytes_per_item2", 0)
        if isinstance(per_item2, dict):  # by the run's precision
            per_item2 = per_item2[spec.get("params", {}).get("precision", "fp64")]
        peak = max(unit["peak_gb"], per_item2 * size["tracks"] ** 2 / 1e9)
        gpu = unit.get("gpu_seconds_per")
        if gpu:  # measured at its own catalogue width (gpu_items)
            measured = unit.get("gpu_items", unit.get("items"))
            gpu *= (
                epochs
                * _count(size, unit["per"])
                * _train_scale(unit, dim, size["tracks"], measured)
            )
        lines.append(
            Line(
                "train",
                run.name,
                epochs,
                "epochs" if unit.get("per_epoch") else "fits",
                seconds / 3600,
                (gpu or seconds) / 3600,
                "GPU-measured" if gpu else "CPU-derived",
                peak,
                0.0,
                unit["source"],
            )
        )
        ev = table["stages"]["evaluate"]
        users = size["test_users"] + size["val_users"]
        rate = ev["users_per_second"] * (ev["dim"] / max(dim, 1)) * (ev["items"] / size["tracks"])
        lines.append(
            Line(
                "evaluate",
                run.name,
                users,
                "users",
                users / rate / 3600,
                None,
                "CPU only",
                ev["peak_gb"],
                0.0,
                ev["source"],
            )
        )
    return lines


def _train_scale(unit: dict, dim: int, tracks: int, measured_items: int | None) -> float:
    """A training unit's factor for a run: its width against the unit's (an exponent
    measured at 2 widths) and, for a full softmax, the catalogue against the one the unit
    was timed on (the part of the cost linear in items, measured at 2 sizes)."""
    scale = (dim / unit["dim"]) ** unit.get("scales_with_dim", 0.0)
    if measured_items:
        share = unit["item_share"]
        scale *= (1 - share) + share * tracks / measured_items
    return scale


def _run_dim(cfg: dict, run, table: dict) -> int:
    if run.backbone == "none":
        return int(cfg["recommenders"][run.recommender].get("params", {}).get("random_dim") or 128)
    spec = cfg["backbones"][run.backbone]
    if spec["type"] == "precomputed":
        return int(spec["params"].get("dim") or 104)
    return int(_backbone_unit(table, spec).get("dim", 256))


def totals(lines: list[Line]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for line in lines:
        t = out.setdefault(
            line.stage,
            {
                "jobs": 0,
                "cpu_hours": 0.0,
                "gpu_hours": 0.0,
                "peak_gb": 0.0,
                "disk_gb": 0.0,
                "bases": set(),
            },
        )
        t["jobs"] += 1
        t["cpu_hours"] += 0.0 if math.isnan(line.cpu_hours) else line.cpu_hours
        t["gpu_hours"] += line.gpu_hours or 0.0
        t["peak_gb"] = max(t["peak_gb"], 0.0 if math.isnan(line.peak_gb) else line.peak_gb)
        t["disk_gb"] += 0.0 if math.isnan(line.disk_gb) else line.disk_gb
        t["bases"].add(line.gpu_basis)
    return out


def render(lines: list[Line], title: str) -> str:
    out = [
        f"# Cost of {title} on the full dataset",
        "",
        "| stage | what | units | CPU-hours | GPU-hours | GPU basis | peak GB | disk GB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    nouns = {"extract": "backbones", "train": "runs", "evaluate": "runs", "audio": "rates"}
    for s, t in totals(lines).items():
        gpu = f"{t['gpu_hours']:.1f}" if t["gpu_hours"] else "–"
        out.append(
            f"| {s} | {t['jobs']} {nouns.get(s, 'steps')} | | {t['cpu_hours']:.1f} | {gpu} | "
            f"{', '.join(sorted(t['bases']))} | {t['peak_gb']:.1f} | {t['disk_gb']:.1f} |"
        )
    out += [
        "",
        "Per job:",
        "",
        "| stage | what | units | CPU-hours | GPU-hours | GPU basis | peak GB | disk GB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for line in lines:
        gpu = "–" if line.gpu_hours is None else f"{line.gpu_hours:.2f}"
        out.append(
            f"| {line.stage} | {line.what} | {line.units:,.0f} {line.unit} | "
            f"{line.cpu_hours:.2f} | {gpu} | {line.gpu_basis} | {line.peak_gb:.1f} | "
            f"{line.disk_gb:.2f} |"
        )
    sources = sorted({line.source for line in lines})
    out += ["", "Per-unit costs measured by:", "", *[f"- {s}" for s in sources]]
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    from snakemake.utils import update_config

    from audiorec.config import validate_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configfile", nargs="+", required=True)
    args = ap.parse_args(argv)
    cfg: dict = {}
    for path in args.configfile:
        update_config(cfg, yaml.safe_load(Path(path).read_text()))
    cfg = validate_config(cfg)
    print(render(estimate(cfg), " + ".join(Path(p).stem for p in args.configfile)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
