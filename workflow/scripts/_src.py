"""Make src/ importable in any job environment: per-backbone conda envs do not install audiorec."""

import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)
