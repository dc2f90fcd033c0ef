"""Per-backbone Python environments without conda, built from the same ``envs/*.yaml``.

Most backbones run in the project's default environment (``make venv``). A
few cannot: MuQ and MuQ-MuLan need the ``muq`` package with torchaudio (whose
PyPI wheels load only beside PyPI's CUDA build of torch) and transformers < 5;
MULE needs TensorFlow 2.13 and NumPy 1.24. For those (and, for the tests,
every env file) this module turns a conda env file into a pip install:

- conda's pins (``numpy=2.4``) become ``numpy==2.4.*``; conda-only names map to
  their PyPI ones (``pysoundfile`` -> ``soundfile``; ``ffmpeg`` -> the
  ``imageio-ffmpeg`` wheel, whose binary is linked as ``bin/ffmpeg``);
- the venv goes to ``.envs/<hash of the requirements>/`` with a link
  ``.envs/<name>``: env files that resolve to the same list share one venv,
  and an unchanged list is never rebuilt (the ``.built`` stamp);
- audiorec itself is installed editable without dependencies, so a job in
  the venv runs this checkout's code; ``envs/<name>.post-deploy.sh`` runs
  after the install, as Snakemake runs it in a conda env.

An extraction or weights job whose backbone's upstream module is missing
from the interpreter Snakemake runs in is re-run in that backbone's venv
(``delegate``), so ``snakemake --profile profiles/slurm`` needs no
``--sdm conda``; under ``--sdm conda`` the conda env already has the module
and nothing is delegated.

Command line: ``python -m audiorec.software build NAME... | test NAME... [--discard [--keep
NAME...]] | python NAME`` (``--discard`` removes each venv once tested, but those of ``--keep``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENV_FILES = REPO / "envs"
CONDA_TO_PYPI = {
    "pysoundfile": "soundfile",
    "soxr-python": "soxr",
    "matplotlib-base": "matplotlib",
    "pytorch": "torch",
    "python-duckdb": "duckdb",
    "ffmpeg": "imageio-ffmpeg",
}
NOT_PACKAGES = {"python", "pip"}
#: backbone type -> (its env file, the upstream module it cannot run without)
OWN_ENV = {"muq": ("muq", "muq"), "muq_mulan": ("muq_mulan", "muq"), "mule": ("mule", "mule")}


def envs_dir() -> Path:
    return Path(os.environ.get("AUDIOREC_ENVS", REPO / ".envs"))


def _conda_pin(dep: str) -> str:
    name, _, version = dep.partition("=")
    name = CONDA_TO_PYPI.get(name.strip(), name.strip())
    if not version:
        return name
    version = version.lstrip("=")
    return f"{name}=={version}" if version.count(".") >= 2 else f"{name}=={version}.*"


def requirements(env_file: Path) -> tuple[str, list[str]]:
    """(python version, pip requirement lines) of a conda env file."""
    import yaml

    spec = yaml.safe_load(Path(env_file).read_text())
    python, lines = "3.11", []
    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            lines += [str(d) for d in dep.get("pip", [])]
            continue
        dep = str(dep)
        name = re.split(r"[=<> ]", dep, maxsplit=1)[0]
        if name == "python":
            python = dep.partition("=")[2].lstrip("=") or python
        elif name not in NOT_PACKAGES:
            lines.append(_conda_pin(dep))
    return python, lines


def key(python: str, lines: list[str]) -> str:
    return hashlib.sha256(json.dumps([python, sorted(lines)]).encode()).hexdigest()[:16]


def env_key(name: str, extra: tuple[str, ...] = ("pytest",)) -> str:
    """The folder under envs_dir() that envs/<name>.yaml's venv lives in."""
    python, lines = requirements(ENV_FILES / f"{name}.yaml")
    return key(python, [*lines, *extra])


def _pip_env(lines: list[str]) -> dict:
    """pip's environment: PyPI's torchaudio wheels load only beside PyPI's (CUDA) torch, so an
    env that needs torchaudio ignores local wheel folders (find-links) that hold a +cpu torch.

    No wheel cache: the CUDA wheels are several GB, and a cached copy of them beside the
    installed one would double what an env costs on disk.
    """
    env = dict(os.environ, PIP_NO_CACHE_DIR="1")
    if any(re.match(r"torchaudio\b", line) for line in lines):
        env.pop("PIP_FIND_LINKS", None)
        env["PIP_CONFIG_FILE"] = os.devnull
    return env


def python_path(name: str) -> Path:
    return envs_dir() / name / "bin" / "python"


def build(name: str, extra: tuple[str, ...] = ("pytest",), log=print) -> Path:
    """The venv of envs/<name>.yaml (built if its requirements changed); returns its folder."""
    python, lines = requirements(ENV_FILES / f"{name}.yaml")
    lines = [*lines, *extra]
    root = envs_dir()
    target = root / env_key(name, extra)
    link = root / name
    if not (target / ".built").exists():
        log(f"building {name} ({len(lines)} requirements) in {target}")
        shutil.rmtree(target, ignore_errors=True)
        interpreter = shutil.which(f"python{python}") or sys.executable
        subprocess.run([interpreter, "-m", "venv", str(target)], check=True)
        pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        req = target / "requirements.txt"
        req.write_text("\n".join(lines) + "\n")
        env = _pip_env(lines)
        subprocess.run([*pip, "--upgrade", "pip", "setuptools>=68,<81"], check=True, env=env)
        subprocess.run([*pip, "-r", str(req)], check=True, env=env)
        subprocess.run(
            [*pip, "--no-deps", "--no-build-isolation", "-e", str(REPO)], check=True, env=env
        )
        post_deploy = ENV_FILES / f"{name}.post-deploy.sh"  # as Snakemake runs it for conda
        if post_deploy.exists():
            path = f"{target / 'bin'}{os.pathsep}{env.get('PATH', '')}"
            subprocess.run(["bash", str(post_deploy)], check=True, env={**env, "PATH": path})
        if "imageio-ffmpeg" in " ".join(lines):
            exe = subprocess.run(
                [
                    str(target / "bin" / "python"),
                    "-c",
                    "import imageio_ffmpeg as f; print(f.get_ffmpeg_exe())",
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            (target / "bin" / "ffmpeg").unlink(missing_ok=True)
            (target / "bin" / "ffmpeg").symlink_to(exe)
        (target / ".built").write_text(
            json.dumps({"env": name, "python": python, "requirements": lines})
        )
    else:
        log(f"{name}: up to date in {target}")
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target.name)
    return link


def importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def delegate(backbone_type: str) -> Path | None:
    """The venv python to re-run a job of this backbone type in, or None to run it here.

    Raises ImportError naming the make target when the module is missing and
    no venv was built.
    """
    if backbone_type not in OWN_ENV:
        return None
    env, module = OWN_ENV[backbone_type]
    if importable(module):
        return None
    python = python_path(env)
    if not python.exists():
        raise ImportError(
            f"{backbone_type} needs the {module!r} package, which this environment lacks and "
            f"cannot hold beside its own (envs/{env}.yaml): run `make env-{env}` (a venv in "
            f"{envs_dir() / env}), or run Snakemake with --sdm conda"
        )
    # a venv's python is a link to the base interpreter: compare the venvs, not the binaries
    if Path(sys.prefix).resolve() == (envs_dir() / env).resolve():
        raise ImportError(f"{python} lacks {module!r}: rebuild it with `make env-{env}`")
    return python


def run_stage(python: Path, stage: str, kwargs: dict) -> None:
    """Run audiorec.stages.<stage>.run(**kwargs) in another interpreter (its venv's bin first
    on PATH, for programs such as ffmpeg), failing as the stage fails."""
    env = dict(os.environ)
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    code = (
        "import json, sys\n"
        "from audiorec.stages.common import setup_job\n"
        f"from audiorec.stages import {stage}\n"
        "args = json.loads(sys.argv[1])\n"
        "setup_job(args.pop('_log'), args.pop('_threads'), append=True)\n"
        f"{stage}.run(**args)\n"
    )
    subprocess.run([str(python), "-c", code, json.dumps(kwargs)], check=True, env=env)


#: what `test NAME` runs in an env's venv: its backbone's parity, contract and adapter tests,
#: or for the data and training envs the tests of the jobs they run
ENV_TESTS = {
    "core": ["tests/test_log_parquet.py", "tests/test_split.py"],
    "train": ["tests/test_recommender_contract.py"],
}
BACKBONE_TESTS = [
    "tests/test_upstream_parity.py",
    "tests/test_backbone_contract.py",
    "tests/test_upstream_adapters.py",
]


def test(name: str) -> int:
    """Build envs/<name>.yaml's venv and run its tests in it; the pytest exit status."""
    python = build(name).resolve() / "bin" / "python"
    args = ENV_TESTS.get(name) or [*BACKBONE_TESTS, "-k", name]
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    return subprocess.run(command, cwd=REPO, env=env).returncode


def discard(name: str, keep: set[str], log=print) -> None:
    """Remove envs/<name>.yaml's venv unless a name in ``keep`` shares it: ``make test-envs``
    on a machine whose disk cannot hold every env at once (they are 1-6 GB each)."""
    target = env_key(name)
    if any(env_key(other) == target for other in keep):
        return
    root = envs_dir()
    for link in root.iterdir():
        if link.is_symlink() and os.readlink(link) == target:
            link.unlink()
    if (root / target).exists():
        shutil.rmtree(root / target)
        log(f"{name}: tested, its venv removed ({root / target})")


def run_tests(names: list[str], discard_after: bool = False, keep: tuple[str, ...] = ()) -> int:
    """Test each env; with ``discard_after``, remove each venv once no later name (nor one in
    ``keep``) needs it. 1 if any env's tests failed."""
    failed = []
    for i, name in enumerate(names):
        if test(name) != 0:
            failed.append(name)
        if discard_after:
            discard(name, {*names[i + 1 :], *keep})
    if failed:
        print(f"tests failed in the environments of: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "build":
        for name in argv[1:]:
            build(name)
        return 0
    if len(argv) >= 2 and argv[0] == "test":
        # test NAME... [--discard [--keep NAME...]]
        words = argv[1:]
        cut = words.index("--discard") if "--discard" in words else len(words)
        keep = tuple(w for w in words[cut + 1 :] if w != "--keep")
        if not words[:cut]:
            print("test: name the environments to test before --discard", file=sys.stderr)
            return 2
        return run_tests(words[:cut], cut < len(words), keep)
    if len(argv) == 2 and argv[0] == "python":
        print(python_path(argv[1]))
        return 0
    print(__doc__.strip().partition("Command line: ")[2], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
