"""Finding a checkpoint's files: a local folder or file, or a model-hub id.

A local path is used as it is and never touches the network. A hub id goes
through huggingface_hub's cache, which honours HF_HUB_OFFLINE; either way a
missing file is reported by name with the command that fetches it.
"""

from __future__ import annotations

import os
from pathlib import Path


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
    checkpoint: str, files: list[str], revision: str | None = None, any_of: list[str] | None = None
) -> Path:
    """The folder holding `files` (all) and one of `any_of` for `checkpoint`."""
    local = Path(checkpoint).expanduser()
    if local.exists() or checkpoint.startswith((".", "/", "~")):
        folder = local if local.is_dir() else local.parent
        missing = _missing(folder, files, any_of)
        if missing:
            raise WeightsNotFound(
                f"{folder}: missing {', '.join(missing)} (a copy of the published checkpoint is expected here)"
            )
        return folder

    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    patterns = [*files, *(any_of or []), "*.py", "*.json"]
    try:
        folder = Path(
            snapshot_download(
                checkpoint, revision=revision, allow_patterns=patterns, local_files_only=offline()
            )
        )
    except (LocalEntryNotFoundError, OSError, ValueError) as err:
        how = f"`huggingface-cli download {checkpoint}` on a machine with network access"
        state = "HF_HUB_OFFLINE is set and " if offline() else ""
        raise WeightsNotFound(
            f"{checkpoint}: {state}the checkpoint is not in the local Hugging Face cache; "
            f"get it with {how}, or set params.checkpoint to a local folder ({type(err).__name__})"
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
