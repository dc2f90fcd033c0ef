"""Music2Vec (m-a-p/music2vec-v1): a data2vec-audio model trained on music at 16 kHz.

Loaded with transformers' Data2VecAudioModel from a hub id or a local folder
holding config.json and the weights. The study fed it the same 24 kHz audio as
MERT although it was trained on 16 kHz; ``sample_rate: 24000`` reproduces
that (the ``paper`` preset), the default feeds 16 kHz.
"""

from __future__ import annotations

from audiorec.backbones.chunked import chunk_params
from audiorec.backbones.wav2vec2_family import NORMALIZE, Wav2Vec2Family


class Music2Vec(Wav2Vec2Family):
    SAMPLE_RATE = 16000
    PARAMS = {**chunk_params(16000, 10.0, None, "m-a-p/music2vec-v1"), "normalize": NORMALIZE}

    def load(self):
        from transformers import Data2VecAudioModel

        self.check_layer()
        return Data2VecAudioModel.from_pretrained(str(self._folder())).to(self.device).eval()

    def describe_extra(self) -> dict:
        note = " (trained on 16 kHz: the study's setting)" if self.sample_rate != 16000 else ""
        return {"input": f"{self.sample_rate} Hz{note}"}


BACKBONE = Music2Vec
