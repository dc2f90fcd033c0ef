"""audiorec's BERT encoder: transformers' BertModel in eval, exact on chosen rows, true dropout."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertModel

from audiorec.networks.bert import BertNet
from audiorec.networks.encoder import BertEncoder, attention, dropout

P = {"heads": 2, "ffn": 24, "dropout": 0.2, "layers": 2, "project_to": None}
P.update(init_std=0.02)


def _net(seed=0, n_items=30, width=16):
    torch.manual_seed(seed)
    return BertNet(torch.randn(n_items, width) * 0.1, True, P, max_positions=12).eval()


def _ids(net, seed=1):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, net.mask_id + 1, (5, 9), generator=g)  # items and masks
    for row, length in enumerate((9, 7, 4, 2, 1)):
        ids[row, length:] = net.pad_id
    return ids


def _copy_into_hf(net: BertNet) -> BertModel:
    h = net.norm.normalized_shape[0]
    cfg = BertConfig(
        vocab_size=4,
        hidden_size=h,
        num_hidden_layers=P["layers"],
        num_attention_heads=P["heads"],
        intermediate_size=P["ffn"],
        max_position_embeddings=net.positions.num_embeddings,
        layer_norm_eps=1e-12,
        hidden_act="gelu",
        attn_implementation="eager",
    )
    hf = BertModel(cfg, add_pooling_layer=False).eval()
    emb = hf.embeddings
    with torch.no_grad():
        emb.position_embeddings.weight.copy_(net.positions.weight)
        emb.token_type_embeddings.weight[0].copy_(net.token_type)
        emb.LayerNorm.load_state_dict(net.norm.state_dict())
        for ours, theirs in zip(net.encoder.layers, hf.encoder.layer, strict=True):
            att = theirs.attention
            for part, w, b in zip(
                (att.self.query, att.self.key, att.self.value),
                ours.qkv.weight.chunk(3),
                ours.qkv.bias.chunk(3),
                strict=True,
            ):
                part.weight.copy_(w)
                part.bias.copy_(b)
            att.output.dense.load_state_dict(ours.attn_out.state_dict())
            att.output.LayerNorm.load_state_dict(ours.attn_norm.state_dict())
            theirs.intermediate.dense.load_state_dict(ours.ffn_in.state_dict())
            theirs.output.dense.load_state_dict(ours.ffn_out.state_dict())
            theirs.output.LayerNorm.load_state_dict(ours.ffn_norm.state_dict())
    return hf


def test_encoder_is_transformers_bert():
    """The study's encoder is transformers' BertModel fed the item rows as input embeddings."""
    net = _net()
    ids = _ids(net)
    hf = _copy_into_hf(net)
    real = ids != net.pad_id
    with torch.no_grad():
        ours = net.encode(ids)
        theirs = hf(inputs_embeds=net.table()[ids], attention_mask=real.long()).last_hidden_state
    torch.testing.assert_close(ours[real], theirs[real], atol=1e-5, rtol=1e-5)


def test_chosen_rows_equal_the_full_output():
    net = _net()
    ids = _ids(net)
    rows = torch.rand(ids.shape, generator=torch.Generator().manual_seed(3)) < 0.4
    rows &= ids != net.pad_id
    rows[3] = False  # a sequence with no row chosen
    with torch.no_grad():
        full = net.encode(ids)
        torch.testing.assert_close(net.encode(ids, rows=rows), full[rows], atol=1e-6, rtol=1e-6)
        last = (ids != net.pad_id).sum(1) - 1
        torch.testing.assert_close(
            net.encode_last(ids, net.table()), full[torch.arange(len(ids)), last]
        )


def test_cpu_dropout_is_dropout():
    x = torch.ones(400_000)
    torch.manual_seed(0)
    a = dropout(x, 0.2, True)
    torch.manual_seed(0)
    assert torch.equal(a, dropout(x, 0.2, True))  # seeded by torch's generator
    assert abs((a == 0).float().mean().item() - 0.2) < 0.005
    assert set(a.unique().tolist()) == {0.0, 1.25}  # survivors scaled by 1 / (1 - p)
    assert dropout(x, 0.2, False) is x and dropout(x, 0.0, True) is x
    y = (torch.rand(1000) + 1).requires_grad_()
    out = dropout(y, 0.5, True)
    out.sum().backward()
    assert torch.equal(y.grad, (out != 0).float() * 2)  # gradients flow through survivors only


@pytest.mark.parametrize("per_query", [False, True])
def test_training_attention_matches_sdpa_without_dropout(per_query):
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(3, 2, 5, 4, generator=g) for _ in range(3))
    keep = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)
    keep = keep[:, None, None, :]
    if per_query:  # packed rows: each query its own keys (two segments in row 1)
        keep = keep.expand(-1, -1, 5, -1).clone()
        keep[1, 0, :2, 2:] = keep[1, 0, 2:, :2] = False
    # the CPU training path (explicit softmax, dropout of the weights) with nothing dropped
    manual = attention(q, k, v, keep, 1e-9, True)
    sdpa = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=keep)
    torch.testing.assert_close(manual, sdpa, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("layers", [1, 3])
def test_any_depth_gives_chosen_rows(layers):
    enc = BertEncoder(8, 2, 16, 0.1, layers).eval()
    x = torch.randn(2, 6, 8)
    pad = torch.tensor([[0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0]], dtype=torch.bool)
    rows = torch.tensor([[1, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 1]], dtype=torch.bool)
    with torch.no_grad():
        torch.testing.assert_close(enc(x, pad, rows), enc(x, pad)[rows])
