"""BERT's encoder stack, with a last layer that computes only the outputs asked for.

Written out rather than taken from ``nn.TransformerEncoderLayer`` for two
reasons. Fidelity: BERT (transformers' ``BertLayer``, the study's encoder, and
RecBole's ``TransformerLayer``) has no dropout between the feed-forward
layers, which PyTorch's layer adds. Cost: masked-item training needs the last
layer's output only at the masked positions (a fifth of them) and scoring
only at the last one, so the last layer attends from those queries alone and
runs its output projection and feed-forward on those rows alone; keys and
values still come from every position, so the rows are exactly what the full
layer would give.

On CPU, dropout draws its masks with ``torch.rand`` rather than through
``F.dropout``, whose Bernoulli sampler takes 2.6 times as long there and was a
fifth of a training step; the result is the same dropout (same probability,
same scaling, seeded by torch's generator). CUDA keeps the fused kernels.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def hidden_size(width: int, p: dict) -> int:
    """The encoder's width: ``project_to`` where set, else the item table's; refused unless
    the attention heads divide it."""
    hidden = p["project_to"] or width
    if hidden % p["heads"]:
        raise ValueError(
            f"hidden size {hidden} is not divisible by {p['heads']} attention heads; "
            "set params.project_to (or heads)"
        )
    return hidden


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    if not training or p == 0:
        return x
    if x.device.type != "cpu":
        return F.dropout(x, p, True)
    keep = torch.rand_like(x).ge_(p).mul_(1 / (1 - p))
    return x * keep


def attention(q, k, v, keep: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Softmax attention of q (B, heads, M, d) over k, v (B, heads, L, d) where keep (B, 1, 1 or M, L)."""
    if not training or p == 0 or q.device.type != "cpu":
        return F.scaled_dot_product_attention(
            q, k, v, attn_mask=keep, dropout_p=p if training else 0.0
        )
    scores = (q @ k.transpose(-1, -2)).mul_(q.shape[-1] ** -0.5).masked_fill_(~keep, -torch.inf)
    return dropout(scores.softmax(-1), p, True) @ v


class BertLayer(nn.Module):
    """Post-norm self-attention and GELU feed-forward, dropout where BERT has it."""

    def __init__(self, hidden: int, heads: int, ffn: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.ffn_in = nn.Linear(hidden, ffn)
        self.ffn_out = nn.Linear(ffn, hidden)
        self.ffn_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.dropout = dropout

    def forward(
        self, x: torch.Tensor, keep: torch.Tensor, where: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x (B, L, H), keep (B, 1, 1, L) True for real items, or (B, 1, L, L) per query.

        ``where`` (B, M) picks M positions per sequence: the result is then
        (B, M, H), the full layer's output at those positions.
        """
        b, n, h = x.shape
        q, k, v = (
            t.view(b, n, self.heads, h // self.heads).transpose(1, 2)
            for t in self.qkv(x).split(h, dim=-1)
        )
        residual = x
        if where is not None:
            q = q.gather(2, where[:, None, :, None].expand(-1, q.shape[1], -1, q.shape[3]))
            residual = x.gather(1, where[..., None].expand(-1, -1, h))
            if keep.shape[2] > 1:
                keep = keep.gather(2, where[:, None, :, None].expand(-1, 1, -1, n))
        p, training = self.dropout, self.training
        context = attention(q, k, v, keep, p, training).transpose(1, 2).reshape(b, q.shape[2], h)
        x = self.attn_norm(residual + dropout(self.attn_out(context), p, training))
        return self.ffn_norm(x + dropout(self.ffn_out(F.gelu(self.ffn_in(x))), p, training))


class BertEncoder(nn.Module):
    def __init__(self, hidden: int, heads: int, ffn: int, dropout: float, layers: int):
        super().__init__()
        self.layers = nn.ModuleList(BertLayer(hidden, heads, ffn, dropout) for _ in range(layers))

    def forward(
        self,
        x: torch.Tensor,
        pad: torch.Tensor,
        rows: torch.Tensor | None = None,
        segments: torch.Tensor | None = None,
        causal: bool = False,
    ) -> torch.Tensor:
        """x (B, L, H), pad (B, L) True at padding; (B, L, H) or, given rows (B, L) bool, (rows.sum(), H).

        With ``rows`` the result is ``full[rows]``, in the same row-major order.
        ``segments`` (B, L) confines attention to positions of the same value
        (packed rows: one value per sequence, another for the padding).
        ``causal``: each position attends only to itself and earlier ones (SASRec).
        """
        if segments is None:
            keep = ~pad[:, None, None, :]
        else:
            keep = (segments[:, :, None] == segments[:, None, :])[:, None]
        if causal:
            n = x.shape[1]
            keep = keep & torch.ones(n, n, dtype=torch.bool, device=x.device).tril()
        *inner, last = self.layers
        for layer in inner:
            x = layer(x, keep)
        if rows is None:
            return last(x, keep)
        counts = rows.sum(1)
        width = max(int(counts.max()), 1)
        # each sequence's chosen positions first, in order; the padding after them is dropped below
        where = torch.argsort((~rows).to(torch.uint8), dim=1, stable=True)[:, :width]
        out = last(x, keep, where)
        return out[torch.arange(width, device=x.device) < counts[:, None]]
