"""The shallow net's network: user and item tables through one shared Linear + ReLU, L2-normalised."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ShallowTower(nn.Module):
    def __init__(
        self,
        users: torch.Tensor,
        items: torch.Tensor,
        hidden: int,
        train_users: bool,
        train_items: bool,
    ):
        super().__init__()
        self.users = nn.Parameter(users, requires_grad=train_users)
        self.items = nn.Parameter(items, requires_grad=train_items)
        self.proj = nn.Sequential(nn.Linear(items.shape[1], hidden), nn.ReLU())

    def embed(self, table: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        x = table if rows is None else table[rows]
        return F.normalize(self.proj(x), dim=-1, eps=1e-8)
