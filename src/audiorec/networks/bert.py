"""BERT4Rec's network: item table in, BERT encoder, scores tied to the same table.

Input rows are the item table plus a mask row (N(0, 0.02), trained) and a
zero padding row; positions and the type-0 embedding are added, then
LayerNorm (eps 1e-12) and dropout, as transformers' BertModel does; the
encoder is ``audiorec.networks.encoder``. The output layer is tied to the
same table (no bias). A ``project_to`` width puts one shared projection
between a wide table and a narrower encoder.
"""

from __future__ import annotations

import torch
from torch import nn

from audiorec.networks.encoder import BertEncoder, dropout, hidden_size


class BertNet(nn.Module):
    def __init__(self, items: torch.Tensor, train_items: bool, p: dict, max_positions: int):
        super().__init__()
        width = items.shape[1]
        hidden = hidden_size(width, p)
        std = p["init_std"]
        self.items = nn.Parameter(items, requires_grad=train_items)
        self.mask_row = nn.Parameter(torch.randn(1, width) * std)
        self.register_buffer("pad_row", torch.zeros(1, width))
        self.proj = nn.Linear(width, hidden, bias=False) if p["project_to"] else None
        self.positions = nn.Embedding(max_positions, hidden)
        self.token_type = nn.Parameter(torch.zeros(hidden))
        self.norm = nn.LayerNorm(hidden, eps=1e-12)
        self.p_drop = p["dropout"]
        self.encoder = BertEncoder(hidden, p["heads"], p["ffn"], p["dropout"], p["layers"])
        for name, w in self.named_parameters():
            if name.startswith(("items", "mask_row", "norm", "token_type")):
                continue
            if w.dim() > 1:
                nn.init.normal_(w, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(w)
        self.token_type.data.normal_(0.0, std)

    @property
    def mask_id(self) -> int:
        return self.items.shape[0]

    @property
    def pad_id(self) -> int:
        return self.items.shape[0] + 1

    def table(self) -> torch.Tensor:
        t = torch.cat([self.items, self.mask_row, self.pad_row])
        return self.proj(t) if self.proj is not None else t

    @staticmethod
    def logits(hidden: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """Scores of every table row: the output layer is the input table (tied)."""
        return hidden @ table.T

    def encode(
        self,
        ids: torch.Tensor,
        table: torch.Tensor | None = None,
        rows: torch.Tensor | None = None,
        packed: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Hidden states (B, L, H), or only those at ``rows`` (B, L) bool, as (rows.sum(), H).

        ``packed`` (segments, positions), both (B, L), for rows that hold
        several sequences (``audiorec.sequences.packing``).
        """
        table = self.table() if table is None else table
        pad = ids == self.pad_id
        if packed is None:
            segments, places = None, self.positions.weight[: ids.shape[1]]
        else:
            segments, places = packed[0], self.positions(packed[1])
        x = table[ids] + places + self.token_type
        return self.encoder(dropout(self.norm(x), self.p_drop, self.training), pad, rows, segments)

    def encode_last(self, ids: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """Hidden state (B, H) at each sequence's last item (the mask, when predicting)."""
        last = (ids != self.pad_id).sum(1) - 1
        rows = torch.zeros_like(ids, dtype=torch.bool)
        rows[torch.arange(len(ids), device=ids.device), last] = True
        return self.encode(ids, table, rows)
