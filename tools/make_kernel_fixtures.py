"""Fixtures for WeightTypeTests: every weight type's products against gguf-py.

Writes Tests/Fixtures/kernels/: for each type a 37-row weight matrix in its stored bytes
(`w_<TYPE>.bin`) and `y_<TYPE>.f32`, the float64 product `x · Wᵀ` of the activations with the
weights as gguf-py's `gguf.quants.dequantize` decodes them (Q8_K, which gguf-py cannot decode, is
`d·q` by its definition), rounded to float32. The activations are 97 rows (`x_<k>.f16`: values
that are exact halves, stored as F16) with k = 288 for 32-element blocks and plain floats
(not a multiple of 256, nor of the 16-row tile) and k = 512 for 256-element blocks.

Quantized blocks are random bytes with their scale fields replaced by moderate F16 values (both
signs), so every bit pattern of quants, scales and mins occurs. Fixed seed; run with the tools
venv (make tools-venv).
"""
import json
import os

import numpy as np
import torch
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf.quants import dequantize

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "kernels")
ROWS, COUNT = 37, 97

# type name -> byte offsets of its F16 scale fields within a block
SCALES = {
    "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0], "IQ4_NL": [0],
    "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208], "IQ4_XS": [0],
}


def random_blocks(rng, name, rows, k):
    qtype = getattr(T, name)
    elements, size = GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, (rows, k // elements, size), dtype=np.uint8)
    for offset in SCALES.get(name, []):
        d = (rng.uniform(0.002, 0.02, blocks.shape[:2]) * rng.choice([-1, 1], blocks.shape[:2])).astype("<f2")
        blocks[:, :, offset:offset + 2] = d.view(np.uint8).reshape(blocks.shape[0], blocks.shape[1], 2)
    if name == "Q8_K":
        d = rng.uniform(0.002, 0.02, blocks.shape[:2]).astype("<f4")
        blocks[:, :, 0:4] = d.view(np.uint8).reshape(blocks.shape[0], blocks.shape[1], 4)
        values = blocks[:, :, 4:260].view(np.int8).astype(np.float64) * d[:, :, None].astype(np.float64)
        return blocks.reshape(rows, -1), values.reshape(rows, k)
    return blocks.reshape(rows, -1), dequantize(blocks.reshape(rows, -1), qtype).astype(np.float64)


def float_weights(rng, name, rows, k):
    w = rng.standard_normal((rows, k)).astype(np.float32)
    if name == "F32":
        return w.view(np.uint8), w.astype(np.float64)
    if name == "F16":
        h = w.astype("<f2")
        return h.view(np.uint8), h.astype(np.float64)
    b = torch.from_numpy(w).to(torch.bfloat16)
    return b.view(torch.int16).numpy().astype("<i2").view(np.uint8), b.to(torch.float64).numpy()


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261201)
    xs = {}
    for k in (288, 512):
        x = rng.uniform(-2, 2, (COUNT, k)).astype("<f2")
        x.tofile(os.path.join(OUT, f"x_{k}.f16"))
        xs[k] = x.astype(np.float64)
    index = []
    for name in ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "IQ4_NL",
                 "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ4_XS"]:
        k = 512 if name in ("Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ4_XS") else 288
        raw, values = (float_weights if name in ("F32", "F16", "BF16") else random_blocks)(rng, name, ROWS, k)
        raw.tofile(os.path.join(OUT, f"w_{name}.bin"))
        (xs[k] @ values.T).astype("<f4").tofile(os.path.join(OUT, f"y_{name}.f32"))
        index.append({"dtype": name, "rows": ROWS, "columns": k, "count": COUNT})
    with open(os.path.join(OUT, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
