#!/usr/bin/env python3
"""Fixtures for conversion and CLI tests, made by the reference libraries.

Writes Tests/Fixtures/convert/:
  tiny-llava/            a tiny LLaVA in the llava-hf layout, as torch.save shards
                         (pytorch_model-0000N-of-00002.bin + pytorch_model.bin.index.json) and
                         config.json, the way older llava-hf repos ship it;
  tiny-llava.safetensors the same state dict through safetensors.torch.save_file: what
                         `eah-convert convert tiny-llava -o X.safetensors` must write, byte for byte;
  tiny-llama.safetensors a tiny LLaMA (short llama.cpp-compatible names) in F32;
  tiny-llama-{f16,bf16,q8_0,q4_0}.gguf
                         gguf-py's GGUFWriter + gguf.quants.quantize of every tensor with
                         eah-convert's GGUF type rules (1-D tensors F32; rows not a multiple of
                         32 fall back from q8_0/q4_0 to F16): the tensor bytes
                         `eah-convert convert --to gguf --dtype X` must produce.
Run with the pinned libraries: make fixtures (or .venv/bin/python tools/make_convert_fixtures.py).
"""
import json
import os

import gguf
import numpy as np
import torch
from gguf.quants import quantize
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "convert")


def llava_state_dict(gen):
    def w(*shape):
        return (torch.randn(*shape, generator=gen) * 0.05).float()

    sd = {}
    text_hidden, vision_hidden, inter, vocab = 64, 32, 128, 256
    sd["language_model.model.embed_tokens.weight"] = w(vocab, text_hidden)
    for layer in range(2):
        p = f"language_model.model.layers.{layer}."
        sd[p + "input_layernorm.weight"] = 1 + w(text_hidden)
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            sd[p + f"self_attn.{proj}.weight"] = w(text_hidden, text_hidden)
        sd[p + "post_attention_layernorm.weight"] = 1 + w(text_hidden)
        sd[p + "mlp.gate_proj.weight"] = w(inter, text_hidden)
        sd[p + "mlp.up_proj.weight"] = w(inter, text_hidden)
        sd[p + "mlp.down_proj.weight"] = w(text_hidden, inter)
    sd["language_model.model.norm.weight"] = 1 + w(text_hidden)
    sd["language_model.lm_head.weight"] = w(vocab, text_hidden)
    v = "vision_tower.vision_model."
    sd[v + "embeddings.class_embedding"] = w(vision_hidden)
    sd[v + "embeddings.patch_embedding.weight"] = w(vision_hidden, 3, 14, 14)
    sd[v + "embeddings.position_embedding.weight"] = w(5, vision_hidden)
    sd[v + "embeddings.position_ids"] = torch.arange(5).unsqueeze(0)
    sd[v + "pre_layrnorm.weight"] = 1 + w(vision_hidden)
    sd[v + "pre_layrnorm.bias"] = w(vision_hidden)
    p = v + "encoder.layers.0."
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        sd[p + f"self_attn.{proj}.weight"] = w(vision_hidden, vision_hidden)
        sd[p + f"self_attn.{proj}.bias"] = w(vision_hidden)
    for norm in ("layer_norm1", "layer_norm2"):
        sd[p + f"{norm}.weight"] = 1 + w(vision_hidden)
        sd[p + f"{norm}.bias"] = w(vision_hidden)
    sd[p + "mlp.fc1.weight"] = w(4 * vision_hidden, vision_hidden)
    sd[p + "mlp.fc1.bias"] = w(4 * vision_hidden)
    sd[p + "mlp.fc2.weight"] = w(vision_hidden, 4 * vision_hidden)
    sd[p + "mlp.fc2.bias"] = w(vision_hidden)
    sd["multi_modal_projector.linear_1.weight"] = w(text_hidden, vision_hidden)
    sd["multi_modal_projector.linear_1.bias"] = w(text_hidden)
    sd["multi_modal_projector.linear_2.weight"] = w(text_hidden, text_hidden)
    sd["multi_modal_projector.linear_2.bias"] = w(text_hidden)
    return sd


def write_llava(gen):
    sd = llava_state_dict(gen)
    folder = os.path.join(ROOT, "tiny-llava")
    os.makedirs(folder, exist_ok=True)
    names = list(sd)
    shards = [names[: len(names) // 2], names[len(names) // 2 :]]
    weight_map = {}
    total = 0
    for index, shard in enumerate(shards, start=1):
        filename = f"pytorch_model-{index:05d}-of-{len(shards):05d}.bin"
        torch.save({name: sd[name] for name in shard}, os.path.join(folder, filename))
        for name in shard:
            weight_map[name] = filename
            total += sd[name].numel() * sd[name].element_size()
    with open(os.path.join(folder, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    config = {
        "architectures": ["LlavaForConditionalGeneration"],
        "model_type": "llava",
        "image_token_index": 255,
        "text_config": {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                        "num_attention_heads": 4, "vocab_size": 256},
        "vision_config": {"model_type": "clip_vision_model", "hidden_size": 32, "intermediate_size": 128,
                          "num_hidden_layers": 1, "num_attention_heads": 2, "image_size": 28, "patch_size": 14},
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    save_file(sd, os.path.join(ROOT, "tiny-llava.safetensors"), metadata={"format": "pt"})


def llama_state_dict(gen):
    def w(*shape):
        return (torch.randn(*shape, generator=gen) * 0.05).float()

    hidden, inter, vocab = 64, 96, 160
    sd = {"model.embed_tokens.weight": w(vocab, hidden)}
    for layer in range(2):
        p = f"model.layers.{layer}."
        sd[p + "input_layernorm.weight"] = 1 + w(hidden)
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            sd[p + f"self_attn.{proj}.weight"] = w(hidden, hidden)
        sd[p + "post_attention_layernorm.weight"] = 1 + w(hidden)
        sd[p + "mlp.gate_proj.weight"] = w(inter, hidden)
        sd[p + "mlp.up_proj.weight"] = w(inter, hidden)
        sd[p + "mlp.down_proj.weight"] = w(hidden, inter)  # rows of 96: whole 32-blocks
    sd["model.norm.weight"] = 1 + w(hidden)
    sd["lm_head.weight"] = w(vocab, hidden)
    sd["model.odd_rows.weight"] = w(4, 40)  # rows of 40: falls back to F16 under q8_0/q4_0
    return sd


def gguf_type(dtype, shape):
    """eah-convert's rule for a floating-point tensor's GGUF type under --dtype."""
    if dtype == "f32" or len(shape) <= 1:
        return gguf.GGMLQuantizationType.F32
    if dtype == "f16":
        return gguf.GGMLQuantizationType.F16
    if dtype == "bf16":
        return gguf.GGMLQuantizationType.BF16
    if shape[-1] % 32 != 0:
        return gguf.GGMLQuantizationType.F16
    return gguf.GGMLQuantizationType.Q8_0 if dtype == "q8_0" else gguf.GGMLQuantizationType.Q4_0


def write_llama(gen):
    sd = llama_state_dict(gen)
    save_file(sd, os.path.join(ROOT, "tiny-llama.safetensors"), metadata={"format": "pt"})
    for dtype in ("f16", "bf16", "q8_0", "q4_0"):
        writer = gguf.GGUFWriter(os.path.join(ROOT, f"tiny-llama-{dtype}.gguf"), "llama")
        for name, tensor in sd.items():
            data = tensor.numpy()
            qtype = gguf_type(dtype, data.shape)
            if qtype == gguf.GGMLQuantizationType.F32:
                writer.add_tensor(name, data)
            else:
                writer.add_tensor(name, quantize(data, qtype), raw_dtype=qtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()


def main():
    os.makedirs(ROOT, exist_ok=True)
    write_llava(torch.Generator().manual_seed(1))
    write_llama(torch.Generator().manual_seed(2))


if __name__ == "__main__":
    main()
