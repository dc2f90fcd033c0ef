"""Job: write the synthetic demo dataset."""

from __future__ import annotations

from audiorec.data.synthetic import generate


def run(root: str, settings: dict) -> dict:
    settings = {k: v for k, v in settings.items() if k != "enabled"}
    return generate(root, **settings)
