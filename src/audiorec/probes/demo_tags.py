"""The demo's probe task: tags of the synthesiser's parameters, on the demo's own tracks.

Each track gets the tags its style's synthesis parameters imply (drums, noise,
tempo, brightness, scale, note length, register; ``synthetic_styles.tsv``
beside the generated dataset), so a backbone that hears the difference scores
well. Its clips are the recommendation catalogue's tracks (no audio of its
own), split 60/20/20 by a hash of the track id; tracks whose audio is broken
have no vector and drop out of the probe.
"""

from __future__ import annotations

import pandas as pd

from audiorec.probes.base import ProbeDataError, ProbeTask, stable_split

TAGS = {  # tag: whether a style (a row of synthetic_styles.tsv) has it
    "drums": lambda s: s.drums > 0.3,
    "noisy": lambda s: s.noise > 0.12,
    "fast": lambda s: s.tempo > 120,
    "bright": lambda s: s.rolloff < 1.6,
    "minor": lambda s: s.scale in ("minor", "blues"),
    "short notes": lambda s: s.note_beats <= 0.5,
    "low": lambda s: s.root < 60,
}


class DemoTags(ProbeTask):
    KIND = "multilabel"
    MAIN_METRIC = "ROC-AUC"
    COLLECTION = "catalogue"
    FILES = ("synthetic_truth.tsv", "synthetic_styles.tsv")

    def clips(self) -> pd.DataFrame:
        paths = {n: self.root / f"synthetic_{n}.tsv" for n in ("truth", "styles")}
        for path in paths.values():
            if not path.exists():
                raise ProbeDataError(f"{path}: missing (written by the demo's generator)")
        truth = pd.read_csv(paths["truth"], sep="\t", dtype={"track_id": str})
        styles = pd.read_csv(paths["styles"], sep="\t").set_index("style")
        tags = {
            style: "|".join(t for t, has in TAGS.items() if has(row))
            for style, row in styles.iterrows()
        }
        unknown = sorted(set(truth["style"]) - set(tags))
        if unknown:
            raise ProbeDataError(f"{paths['truth']}: style {unknown[0]} not in {paths['styles']}")
        return pd.DataFrame(
            {
                "track_id": truth["track_id"],
                "path": "",
                "split": stable_split(truth["track_id"], salt="demo_tags"),
                "tags": truth["style"].map(tags),
            }
        )

    def vocabulary(self, clips: pd.DataFrame) -> list[str]:
        return list(TAGS)


PROBE = DemoTags
