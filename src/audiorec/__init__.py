"""audiorec: pretrained audio representations as item embeddings in music recommenders."""

__version__ = "0.1.0"
