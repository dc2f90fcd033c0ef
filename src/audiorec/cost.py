"""What a preset costs on the full data: CPU- and GPU-hours, memory and disk, per stage.

    python -m audiorec.cost --configfile presets/paper.yaml [presets/corrected.yaml]

Each figure is a measured per-unit cost (``cost_units.yaml``: what was timed,
by which command, on which machine) multiplied by the preset's counts on the
dataset's full size (``DATASETS``: Music4All-Onion's published sizes and the
2024 split's): clips per backbone, training epochs per run (``max_epochs``,
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
    size = DATASETS.get(cfg["dataset"]["format"], DATASETS["onion"])
    lines: list[Line] = []
    conv = table["stages"]["convert_and_split"]
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
        epochs = spec.get("params", {}).get("max_epochs", 100) if unit.get("per_epoch") else 1
        dim = _run_dim(cfg, run, table)
        scale = (dim / unit["dim"]) ** unit.get("scales_with_dim", 0.0)  # measured at 2 widths
        seconds = epochs * unit["cpu_seconds"] * scale
        gpu = unit.get("gpu_seconds")
        lines.append(
            Line(
                "train",
                run.name,
                epochs,
                "epochs" if unit.get("per_epoch") else "fits",
                seconds / 3600,
                (epochs * gpu * scale / 3600) if gpu else seconds / 3600,
                "GPU-measured" if gpu else "CPU-derived",
                unit["peak_gb"],
                0.0,
                unit["source"],
            )
        )
        ev = table["stages"]["evaluate"]
        users = size["test_users"] + size["val_users"]
        rate = ev["users_per_second"] * (ev["dim"] / max(dim, 1))
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
