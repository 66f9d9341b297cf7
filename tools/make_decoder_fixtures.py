#!/usr/bin/env python3
"""Fixtures for the shared decoder blocks (Tests/Fixtures/decoder/), from transformers.

`rope_apply.json`: query/key heads rotated by transformers' own rotary code for partial and
full rotary factors, in the rotate-half layout (Phi-3's `Phi3RotaryEmbedding` and
`apply_rotary_pos_emb`, which rotate the first `head_dim * partial_rotary_factor` values of every
head and pass the rest) and the interleaved layout (GLM's), at non-contiguous position ids.

`sliding_window.json`: eager attention (Mistral's `eager_attention_forward`) under the mask
transformers builds from `sliding_window_causal_mask_function`, with grouped KV heads and a
query block that continues a cache (queries at KV index 6..9 of 10 keys).

`attention_blocks.json`: a causal prefill longer than two of the decoder's 64-row attention
blocks (Mistral's `eager_attention_forward`, grouped KV heads), with the per-head column sums EAH's
sink rule needs (torch float64 over the rows after each image column) and the output when
one head's map is broadcast over every head (each head keeps its own values).
"""
import json
import os

import torch
from transformers import GlmConfig, Phi3Config
from transformers.masking_utils import sliding_window_causal_mask_function
from transformers.models.glm import modeling_glm
from transformers.models.mistral.modeling_mistral import eager_attention_forward
from transformers.models.phi3 import modeling_phi3

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "decoder")


def floats(tensor):
    return [float(x) for x in tensor.reshape(-1).tolist()]


def rope_case(name, style, partial, heads=3, head_dim=16, theta=10000.0):
    positions = [0, 1, 2, 3, 7, 8, 20, 100]
    generator = torch.Generator().manual_seed(len(name) * 7 + int(partial * 100))
    x = torch.randn(1, heads, len(positions), head_dim, generator=generator)
    position_ids = torch.tensor([positions])
    if style == "rotate_half":
        config = Phi3Config(hidden_size=heads * head_dim, num_attention_heads=heads,
                            rope_parameters={"rope_type": "default", "rope_theta": theta, "partial_rotary_factor": partial})
        rotary = modeling_phi3.Phi3RotaryEmbedding(config)
        apply = modeling_phi3.apply_rotary_pos_emb
    else:
        config = GlmConfig(hidden_size=heads * head_dim, num_attention_heads=heads, head_dim=head_dim,
                           rope_parameters={"rope_type": "default", "rope_theta": theta, "partial_rotary_factor": partial})
        rotary = modeling_glm.GlmRotaryEmbedding(config)
        apply = modeling_glm.apply_rotary_pos_emb
    cos, sin = rotary(x, position_ids)
    rotated, _ = apply(x, x, cos, sin)
    # [1, heads, positions, head_dim] -> rows of positions, heads interleaved as the decoder holds them.
    return {
        "name": name, "style": style, "partial_rotary_factor": partial, "rope_theta": theta,
        "heads": heads, "head_dim": head_dim, "positions": positions,
        "input": floats(x[0].transpose(0, 1)), "output": floats(rotated[0].transpose(0, 1)),
    }


def sliding_window_case(window=4, heads=4, kv_heads=2, head_dim=8, keys=10, queries=4):
    generator = torch.Generator().manual_seed(window)
    q = torch.randn(1, heads, queries, head_dim, generator=generator)
    k = torch.randn(1, kv_heads, keys, head_dim, generator=generator)
    v = torch.randn(1, kv_heads, keys, head_dim, generator=generator)
    start = keys - queries
    allowed = sliding_window_causal_mask_function(window)
    mask = torch.full((1, 1, queries, keys), float("-inf"))
    for i in range(queries):
        for j in range(keys):
            if allowed(torch.tensor(0), torch.tensor(0), torch.tensor(start + i), torch.tensor(j)):
                mask[0, 0, i, j] = 0.0

    class Module(torch.nn.Module):
        num_key_value_groups = heads // kv_heads
        training = False

    output, weights = eager_attention_forward(Module(), q, k, v, mask, scaling=head_dim ** -0.5)
    return {
        "window": window, "heads": heads, "kv_heads": kv_heads, "head_dim": head_dim, "keys": keys, "queries": queries,
        "q": floats(q[0].transpose(0, 1)), "k": floats(k[0].transpose(0, 1)), "v": floats(v[0].transpose(0, 1)),
        "output": floats(output[0]), "probabilities": floats(weights[0]),
    }


def attention_blocks_case(rows=140, heads=4, kv_heads=2, head_dim=4, source=1):
    generator = torch.Generator().manual_seed(140)
    q = torch.randn(1, heads, rows, head_dim, generator=generator) * 2
    k = torch.randn(1, kv_heads, rows, head_dim, generator=generator) * 2
    v = torch.randn(1, kv_heads, rows, head_dim, generator=generator)
    mask = torch.triu(torch.full((rows, rows), float("-inf")), diagonal=1)[None, None]

    class Module(torch.nn.Module):
        num_key_value_groups = heads // kv_heads
        training = False

    output, weights = eager_attention_forward(Module(), q, k, v, mask, scaling=head_dim ** -0.5)
    columns = list(range(10, 100))
    probabilities = weights[0].double()
    sums = [[float(probabilities[h, c + 1:, c].sum()) for c in columns] for h in range(heads)]
    shared = probabilities[source].float()[None].expand(heads, rows, rows)
    values = v[0].repeat_interleave(heads // kv_heads, dim=0)
    broadcast = torch.matmul(shared, values).transpose(0, 1)
    return {
        "rows": rows, "heads": heads, "kv_heads": kv_heads, "head_dim": head_dim, "columns": columns, "source": source,
        "q": floats(q[0].transpose(0, 1)), "k": floats(k[0].transpose(0, 1)), "v": floats(v[0].transpose(0, 1)),
        "output": floats(output[0]), "column_sums": [x for row in sums for x in row], "broadcast_output": floats(broadcast),
    }


def main():
    os.makedirs(ROOT, exist_ok=True)
    cases = [rope_case("rotate-half partial 0.5", "rotate_half", 0.5), rope_case("rotate-half partial 0.25", "rotate_half", 0.25),
             rope_case("rotate-half full", "rotate_half", 1.0), rope_case("interleaved partial 0.5", "interleaved", 0.5)]
    with open(os.path.join(ROOT, "rope_apply.json"), "w") as f:
        json.dump({"cases": cases}, f)
    with open(os.path.join(ROOT, "sliding_window.json"), "w") as f:
        json.dump(sliding_window_case(), f)
    with open(os.path.join(ROOT, "attention_blocks.json"), "w") as f:
        json.dump(attention_blocks_case(), f)


if __name__ == "__main__":
    main()
