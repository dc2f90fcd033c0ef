"""What a conda env file provides, and whether it covers what a job imported.

A job's imports are the top-level modules it loaded (recorded by
workflow/scripts/_src.py, or by a subprocess for backbones the tiny workflow
does not run). Each maps to the installed distribution that provides it; the
env covers it when it lists that distribution or one that requires it,
directly or not (conda installs those).
"""

from __future__ import annotations

import functools
import re
import sys
from importlib import metadata
from pathlib import Path

import yaml

CONDA_TO_PYPI = {
    "pysoundfile": "soundfile",
    "soxr-python": "soxr",
    "matplotlib-base": "matplotlib",
    "pytorch": "torch",
    "pyyaml": "pyyaml",
    "python-duckdb": "duckdb",
}
NOT_PACKAGES = {"python", "pip"}
FROM_SNAKEMAKE = re.compile(r"^snakemake")  # the script preamble's own modules
# Imported by a listed library only when installed (torch's tqdm, joblib's lz4,
# scikit-learn's rich, transformers' pillow, torch's cloudpickle): jobs run without them.
OPTIONAL = {"tqdm", "lz4", "rich", "markdown-it-py", "mdurl", "pygments", "pillow", "cloudpickle"}
# pkg_resources puts setuptools' vendored packages on sys.path: an env listing setuptools has them
SETUPTOOLS_VENDORED = {
    "backports-tarfile",
    "jaraco-context",
    "jaraco-functools",
    "jaraco-text",
    "more-itertools",
}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def env_distributions(path: Path) -> set[str]:
    spec = yaml.safe_load(Path(path).read_text())
    out = set()
    for dep in spec["dependencies"]:
        entries = dep["pip"] if isinstance(dep, dict) else [dep]
        for entry in entries:
            if entry.startswith("-"):
                continue  # pip options (--extra-index-url)
            name = re.split(r"[=<>@ \[]", entry, maxsplit=1)[0].strip()
            name = CONDA_TO_PYPI.get(name, name)
            if name not in NOT_PACKAGES:
                out.add(normalise(name))
    return out


@functools.cache
def _providers() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def imported_distributions(modules) -> set[str]:
    """Distributions providing the given top-level modules (stdlib and audiorec left out)."""
    out = set()
    for m in modules:
        if m in sys.stdlib_module_names or m.startswith("_") or m == "audiorec":
            continue
        if FROM_SNAKEMAKE.match(m):
            continue
        out |= {normalise(d) for d in _providers().get(m, [])}
    return out - {"snakemake"}


@functools.cache
def requirements_closure(name: str) -> frozenset[str]:
    """A distribution and everything it requires (installed ones, extras left out)."""
    seen, todo = set(), [name]
    while todo:
        dist = todo.pop()
        if dist in seen:
            continue
        seen.add(dist)
        try:
            requires = metadata.requires(dist) or []
        except metadata.PackageNotFoundError:
            continue
        for req in requires:
            if "extra ==" in req:
                continue
            todo.append(normalise(re.split(r"[=<>!~;\[ (]", req, maxsplit=1)[0]))
    return frozenset(seen)


def missing(modules, env: Path) -> set[str]:
    """Imported distributions the env file provides neither directly nor as a dependency.

    What Snakemake itself requires is left out: a script's preamble puts the
    Snakemake process's own sys.path behind the env's, so those come along.
    """
    listed = env_distributions(env)
    covered = set().union(*(requirements_closure(d) for d in listed))
    if "setuptools" in covered:
        covered |= SETUPTOOLS_VENDORED
    return imported_distributions(modules) - covered - requirements_closure("snakemake") - OPTIONAL
