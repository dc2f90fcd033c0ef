"""The journal version's linear autoencoders and content encoders.

ELSA (Vančura et al. 2022): items are rows of a factor matrix A, normalised;
a user's history row x is reconstructed as x A Aᵀ − x, and the loss is the
mean squared error between the row-normalised reconstruction and history
(``nmse``). The hybrid takes A as an MLP of the items' content vectors, so
that any track with audio gets a row; the bimodal model aligns a content
encoder with ELSA's collaborative factors by a decoupled contrastive loss.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def nmse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the row-normalised rows (ELSA's loss)."""
    return F.mse_loss(F.normalize(output, dim=-1), F.normalize(target, dim=-1), reduction="mean")


def reconstruct(x: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """x A Aᵀ − x for normalised factors A."""
    return (x @ factors) @ factors.T - x


class ELSANet(nn.Module):
    def __init__(self, n_items: int, dim: int):
        super().__init__()
        self.factors = nn.Parameter(torch.empty(n_items, dim))
        nn.init.xavier_uniform_(self.factors)

    def items(self) -> torch.Tensor:
        return F.normalize(self.factors, dim=-1)


def mlp(width_in: int, hidden: int) -> nn.Sequential:
    """Linear, ReLU, Linear: the journal's content encoder."""
    return nn.Sequential(nn.Linear(width_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden))


class HybridNet(nn.Module):
    """ELSA whose item factors are an MLP of the (frozen) content vectors."""

    def __init__(self, content: torch.Tensor, hidden: int):
        super().__init__()
        self.register_buffer("content", content)
        self.encoder = mlp(content.shape[1], hidden)

    def items(self) -> torch.Tensor:
        return F.normalize(self.encoder(self.content), dim=-1)


class BimodalNet(nn.Module):
    """Content and collaborative item vectors, each through its own MLP into one space."""

    def __init__(self, content: torch.Tensor, collaborative: torch.Tensor, hidden: int):
        super().__init__()
        self.register_buffer("content", content)
        self.register_buffer("collaborative", collaborative)
        self.content_encoder = mlp(content.shape[1], hidden)
        self.collaborative_encoder = mlp(collaborative.shape[1], hidden)

    def forward(self, items: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = F.normalize(self.content_encoder(self.content[items]), dim=-1)
        b = F.normalize(self.collaborative_encoder(self.collaborative[items]), dim=-1)
        return a, b


LOG_TINY = -103.2789  # log(1e-45): masks a pair out of a log-sum-exp


def decoupled_contrastive(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """One-way decoupled contrastive loss (Yeh et al. 2022): the positive pair is left out of
    the denominator, whose negatives are the other items of both views."""
    cross = z1 @ z2.T
    positive = -torch.diag(cross) / temperature
    negatives = torch.cat([z1 @ z1.T, cross], dim=1) / temperature
    eye = torch.eye(len(z1), device=z1.device).repeat(1, 2)
    return (positive + torch.logsumexp(negatives + eye * LOG_TINY, dim=1)).mean()
