"""SASRec's network: the item table in, a causal self-attention encoder, scores tied to the table.

As RecBole builds it (Kang & McAuley 2018, with BERT's post-norm layers and
GELU feed-forward, ``audiorec.networks.encoder`` in causal mode): input rows
are the item table plus a zero padding row, learned positions are added,
then LayerNorm and dropout; each position attends to itself and earlier
ones only, and its output scores the next item against the same table.
"""

from __future__ import annotations

import torch
from torch import nn

from audiorec.networks.encoder import BertEncoder, dropout, hidden_size


class SASRecNet(nn.Module):
    def __init__(self, items: torch.Tensor, train_items: bool, p: dict, max_positions: int):
        super().__init__()
        width = items.shape[1]
        hidden = hidden_size(width, p)
        self.items = nn.Parameter(items, requires_grad=train_items)
        self.register_buffer("pad_row", torch.zeros(1, width))
        self.proj = nn.Linear(width, hidden, bias=False) if p["project_to"] else None
        self.positions = nn.Embedding(max_positions, hidden)
        self.norm = nn.LayerNorm(hidden, eps=1e-12)
        self.p_drop = p["dropout"]
        self.encoder = BertEncoder(hidden, p["heads"], p["ffn"], p["dropout"], p["layers"])
        for name, w in self.named_parameters():
            if name.startswith(("items", "norm")):
                continue
            if w.dim() > 1:
                nn.init.normal_(w, 0.0, p["init_std"])
            elif name.endswith("bias"):
                nn.init.zeros_(w)

    @property
    def pad_id(self) -> int:
        return self.items.shape[0]

    def table(self) -> torch.Tensor:
        t = torch.cat([self.items, self.pad_row])
        return self.proj(t) if self.proj is not None else t

    @staticmethod
    def logits(hidden: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        return hidden @ table.T

    def encode(
        self, ids: torch.Tensor, table: torch.Tensor, rows: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Hidden states (B, L, H), or only those at ``rows`` (B, L) bool, as (rows.sum(), H)."""
        pad = ids == self.pad_id
        x = table[ids] + self.positions.weight[: ids.shape[1]]
        x = dropout(self.norm(x), self.p_drop, self.training)
        return self.encoder(x, pad, rows, causal=True)
