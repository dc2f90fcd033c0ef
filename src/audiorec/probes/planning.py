"""Which probe jobs a config asks for: its tasks, their roots and files, the backbones probed."""

from __future__ import annotations

import os

from audiorec import backbones as backbone_registry
from audiorec import probes


def tasks(cfg: dict) -> dict[str, dict]:
    return cfg.get("probes", {}).get("tasks", {})


def task_class(spec: dict):
    return probes.get(spec["type"])


def task_root(cfg: dict, name: str) -> str:
    """Where a task's files are: its `root`, or (catalogue tasks) the dataset's root."""
    spec = tasks(cfg)[name]
    return spec.get("root") or cfg["dataset"]["root"]


def own_audio(cfg: dict) -> list[str]:
    """Tasks with audio of their own: it is resampled and embedded like the catalogue's."""
    return [n for n, s in tasks(cfg).items() if task_class(s).COLLECTION == "own"]


def remote_files(cfg: dict) -> dict[str, tuple[str, str]]:
    """Every file the tasks fetch: its path -> (task, file name)."""
    out = {}
    for name, spec in tasks(cfg).items():
        for file in task_class(spec).REMOTES:
            out[os.path.join(task_root(cfg, name), file)] = (name, file)
    return out


def backbones(cfg: dict, name: str) -> list[str]:
    """The backbones a task probes: `probes.backbones` (default every entry) that can embed
    its clips (a task with its own audio needs a backbone that reads audio)."""
    wanted = cfg["probes"]["backbones"] or list(cfg["backbones"])
    if task_class(tasks(cfg)[name]).COLLECTION == "catalogue":
        return wanted
    return [b for b in wanted if backbone_registry.get(cfg["backbones"][b]["type"]).needs_audio]


def jobs(cfg: dict) -> list[tuple[str, str]]:
    """(task, backbone) of every probe job."""
    return [(t, b) for t in tasks(cfg) for b in backbones(cfg, t)]


def remote_files_by_task(cfg: dict) -> dict[str, list[str]]:
    """task -> the files it fetches into its root."""
    return {n: list(task_class(s).REMOTES) for n, s in tasks(cfg).items() if task_class(s).REMOTES}


def embeddings_path(cfg: dict, results: str, task: str, backbone: str) -> str:
    """The vectors a probe reads: the catalogue's (catalogue tasks) or the task's own."""
    if task_class(tasks(cfg)[task]).COLLECTION == "catalogue":
        return f"{results}/embeddings/{backbone}.parquet"
    return f"{results}/probes/{task}/embeddings/{backbone}.parquet"
