"""Finding a checkpoint's files: a local folder or file, or a model-hub id.

A local path is used as it is and never touches the network. A hub id is
read from huggingface_hub's cache; only ``download=True`` (the workflow's
``fetch_weights`` job, run once per backbone on a host with network) may
fetch it, so extraction jobs never touch the network. Either way a missing
file is reported by name with the command that fetches it.
"""

from __future__ import annotations

import os
from pathlib import Path

WEIGHTS = ["model.safetensors", "pytorch_model.bin"]


class WeightsNotFound(FileNotFoundError):
    pass


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def _missing(folder: Path, files: list[str], any_of: list[str] | None) -> list[str]:
    missing = [f for f in files if not (folder / f).exists()]
    if any_of and not any((folder / f).exists() for f in any_of):
        missing.append(" or ".join(any_of))
    return missing


def resolve(
    checkpoint: str,
    files: list[str],
    revision: str | None = None,
    any_of: list[str] | None = None,
    download: bool = False,
    extra_patterns: list[str] | None = None,
) -> Path:
    """The folder holding `files` (all) and one of `any_of` for `checkpoint`.

    A hub id is looked up in the local cache only, unless `download` (and
    HF_HUB_OFFLINE is not set); `extra_patterns` are fetched too where the
    repo has them (a tokenizer's files, say).
    """
    local = Path(checkpoint).expanduser()
    if local.exists() or checkpoint.startswith((".", "/", "~")):
        if not local.exists():
            raise WeightsNotFound(f"checkpoint {local} does not exist (params.checkpoint)")
        folder = local if local.is_dir() else local.parent
        missing = _missing(folder, files, any_of)
        if missing:
            raise WeightsNotFound(
                f"{folder}: missing {', '.join(missing)} (a copy of the published checkpoint is expected here)"
            )
        return folder

    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    patterns = [*files, *(any_of or []), *(extra_patterns or []), "*.py", "*.json"]
    local_only = offline() or not download
    try:
        folder = Path(
            snapshot_download(
                checkpoint, revision=revision, allow_patterns=patterns, local_files_only=local_only
            )
        )
    except (LocalEntryNotFoundError, OSError, ValueError) as err:
        how = (
            "the workflow's fetch_weights job, or "
            f"`huggingface-cli download {checkpoint}`, on a machine with network access"
        )
        if local_only:
            state = "HF_HUB_OFFLINE is set and " if offline() else ""
            why = f"{state}the checkpoint is not in the local Hugging Face cache (HF_HOME)"
        else:
            why = f"the download failed ({err})"
        raise WeightsNotFound(
            f"{checkpoint}: {why}; get it with {how}, or set params.checkpoint to a local folder"
        ) from err
    missing = [f for f in files if not (folder / f).exists()]
    if any_of and not any((folder / f).exists() for f in any_of):
        missing.append(" or ".join(any_of))
    if missing:
        raise WeightsNotFound(
            f"{checkpoint}: the cached snapshot at {folder} lacks {', '.join(missing)}"
        )
    return folder


def load_state_dict(folder: Path) -> dict:
    """Weights from model.safetensors or pytorch_model.bin, whichever the folder has."""
    import torch

    if (folder / "model.safetensors").exists():
        from safetensors.torch import load_file

        return load_file(str(folder / "model.safetensors"))
    return torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)


def _listed(names) -> str:
    names = sorted(names)
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def load_strictly(model, folder: Path) -> None:
    """Load the folder's weights into `model`; a missing or unexpected tensor is an error.

    A published checkpoint loaded with ``strict=False`` would leave what it
    lacks at random values without a word; here the job fails naming them.
    """
    state = load_state_dict(folder)
    own = model.state_dict()
    missing, unexpected = set(own) - set(state), set(state) - set(own)
    problems = []
    if missing:
        problems.append(f"lacks {_listed(missing)}")
    if unexpected:
        problems.append(f"has tensors the model does not: {_listed(unexpected)}")
    shapes = [k for k in set(own) & set(state) if own[k].shape != state[k].shape]
    if shapes:
        problems.append(f"has other shapes for {_listed(shapes)}")
    if problems:
        raise ValueError(
            f"{folder}: the weights {'; '.join(problems)} (config.json and weights disagree)"
        )
    model.load_state_dict(state, strict=True)
