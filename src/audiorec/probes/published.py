"""Probe figures published under MARBLE's protocol for checkpoints audiorec extracts.

The figures are those of Zhu et al. 2025, "MuQ: Self-Supervised Music
Representation Learning with Mel Residual Vector Quantization" (arXiv:2501.01108),
Tables 1 and 2, "Evaluation of proposed MuQ model in MARBLE benchmark", read off
the table as its authors publish it in their repository (tencent-ailab/MuQ,
commit d4a66582ee17, ``images/tab-marble.jpg``). Two of its rows match weights
our presets load:

- "MERT": MERT-v1-330M (160K hours). The table quotes these figures from the
  MERT paper (Li et al. 2023), which ran MARBLE's probes.
- "MusicFM": the MSD checkpoint (the journal preset's; the paper preset's FMA
  checkpoint has no published figure here).

The released MuQ checkpoint (MuQ-large-msd-iter, trained on the Million Song
Dataset) is none of that table's MuQ rows (in-house or Music4All data), so no
MuQ figure is given. The table prints percentages; they are stored here as the
fractions our metrics are. Its GiantSteps figure is MARBLE's "refined accuracy",
mir_eval's weighted key score, our main key metric. For EmoMusic it prints R² of
valence and of arousal; our main metric is their mean, so the mean is stored.
"""

from __future__ import annotations

from audiorec.probes.base import Published

MERT_330M = ("mert", (("checkpoint", "m-a-p/MERT-v1-330M"),))
MUSICFM_MSD = ("musicfm", (("checkpoint", "minzwon/MusicFM"), ("variant", "msd")))
SOURCE = "Zhu et al. 2025 (MuQ, arXiv:2501.01108), Tables 1-2, MARBLE protocol"


def figures(mert_330m: float, musicfm_msd: float) -> tuple[Published, ...]:
    """The published percentages for MERT-v1-330M and MusicFM (MSD), as fractions."""
    return (
        Published(*MERT_330M, mert_330m / 100, f"Li et al. 2023 (MERT) as quoted by {SOURCE}"),
        Published(*MUSICFM_MSD, musicfm_msd / 100, SOURCE),
    )
