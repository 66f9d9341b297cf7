#!/usr/bin/env python3
"""Writes the safetensors test fixtures to Tests/Fixtures/safetensors/ with the reference library.

Run with the pinned tools venv (tools/requirements.txt):  /work/venv/bin/python tools/make_safetensors_fixtures.py

Outputs (all small, fixed seeds, deterministic):
  all_dtypes.safetensors      every dtype safetensors.torch.save_file can write from torch, a scalar and a
                              zero-size tensor; metadata {"format": "pt"} only, so it is also the byte-exact
                              reference for SafetensorsWriter (the reference writer orders other metadata keys
                              by a hash map, i.e. not deterministically).
  with_metadata.safetensors   two tensors and several metadata keys (header order recorded in expected.json).
  sharded/                    model-00001-of-00002.safetensors, model-00002-of-00002.safetensors and
                              model.safetensors.index.json, split like huggingface_hub's
                              split_torch_state_dict_into_shards (state-dict order, new shard when the next
                              tensor would exceed max_shard_size) and indexed like transformers' save_pretrained.
  expected.json               for every file: metadata pairs in header order and, in data (offset) order, each
                              tensor's name, dtype, shape, data_offsets and dense bytes as hex; for the sharded
                              model, the index content.
"""
import json
import os
import struct

import torch
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "safetensors")


def header_of(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"), object_pairs_hook=list)
    base = 8 + n
    metadata = []
    tensors = []
    for key, value in header:
        if key == "__metadata__":
            metadata = [[k, v] for k, v in value]
            continue
        entry = dict(value)
        begin, end = entry["data_offsets"]
        tensors.append(
            {
                "name": key,
                "dtype": entry["dtype"],
                "shape": entry["shape"],
                "data_offsets": [begin, end],
                "hex": data[base + begin : base + end].hex(),
            }
        )
    tensors.sort(key=lambda t: tuple(t["data_offsets"]))
    return {"file_length": len(data), "header_length": n, "metadata": metadata, "tensors": tensors}


def all_dtypes():
    g = torch.Generator().manual_seed(1234)
    f = lambda *shape: torch.randn(*shape, generator=g)
    i = lambda lo, hi, *shape: torch.randint(lo, hi, shape, generator=g, dtype=torch.int64)
    tensors = {
        "f64": f(2, 3).to(torch.float64),
        "f32": f(3, 2),
        "f16": f(5).to(torch.float16),
        "bf16": f(2, 2).to(torch.bfloat16),
        "i64": i(-(2**40), 2**40, 3),
        "i32": i(-(2**31), 2**31, 2, 2).to(torch.int32),
        "i16": i(-(2**15), 2**15, 3).to(torch.int16),
        "i8": i(-128, 128, 7).to(torch.int8),
        "u8": i(0, 256, 2, 3).to(torch.uint8),
        "bool": i(0, 2, 5).to(torch.bool),
        "u16": i(0, 2**16, 3).to(torch.uint16),
        "u32": i(0, 2**32, 2).to(torch.uint32),
        "u64": i(0, 2**62, 2).to(torch.uint64),
        "f8_e4m3": f(6).to(torch.float8_e4m3fn),
        "f8_e5m2": f(3).to(torch.float8_e5m2),
        "f8_e8m0": f(4).abs().to(torch.float8_e8m0fnu),
        "c64": torch.complex(f(2), f(2)),
        "scalar": torch.tensor(3.5, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
        "layer.0.weight": f(2, 2),
    }
    path = os.path.join(ROOT, "all_dtypes.safetensors")
    save_file(tensors, path, metadata={"format": "pt"})
    return path


def with_metadata():
    g = torch.Generator().manual_seed(99)
    tensors = {"b": torch.randn(2, generator=g), "a": torch.randn(1, 2, generator=g).to(torch.float16)}
    path = os.path.join(ROOT, "with_metadata.safetensors")
    save_file(tensors, path, metadata={"format": "pt", "author": "eah fixtures", "note": "ünïcode ✓"})
    return path


def sharded():
    g = torch.Generator().manual_seed(7)
    state = {
        "model.embed_tokens.weight": torch.randn(4, 8, generator=g),
        "model.layers.0.self_attn.q_proj.weight": torch.randn(8, 8, generator=g).to(torch.bfloat16),
        "model.layers.0.mlp.up_proj.weight": torch.randn(8, 4, generator=g).to(torch.float16),
        "model.layers.1.self_attn.q_proj.weight": torch.randn(8, 8, generator=g).to(torch.bfloat16),
        "model.norm.weight": torch.randn(8, generator=g),
        "lm_head.weight": torch.randn(4, 8, generator=g),
    }
    max_shard_size = 320
    shards, current, size = [], {}, 0
    for name, tensor in state.items():
        nbytes = tensor.numel() * tensor.element_size()
        if current and size + nbytes > max_shard_size:
            shards.append(current)
            current, size = {}, 0
        current[name] = tensor
        size += nbytes
    shards.append(current)
    assert len(shards) == 2, len(shards)
    folder = os.path.join(ROOT, "sharded")
    os.makedirs(folder, exist_ok=True)
    weight_map = {}
    total = 0
    names = []
    for index, shard in enumerate(shards, start=1):
        name = f"model-{index:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, os.path.join(folder, name), metadata={"format": "pt"})
        names.append(name)
        for key, tensor in shard.items():
            weight_map[key] = name
            total += tensor.numel() * tensor.element_size()
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    with open(os.path.join(folder, "model.safetensors.index.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return folder, names, index


def main():
    os.makedirs(ROOT, exist_ok=True)
    expected = {}
    for path in (all_dtypes(), with_metadata()):
        expected[os.path.basename(path)] = header_of(path)
    folder, names, index = sharded()
    for name in names:
        expected["sharded/" + name] = header_of(os.path.join(folder, name))
    expected["sharded/model.safetensors.index.json"] = index
    with open(os.path.join(ROOT, "expected.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
