"""Fixtures for MatrixMultiplyTests: inputs and float64 numpy references of matrix products.

Writes Tests/Fixtures/matmul/: raw little-endian float32 inputs (`*.f32`), weights in their
stored type (`*.bin`: F32, F16 and BF16 cast by numpy/torch, Q8_0 and Q4_0 by gguf-py's
`gguf.quants.quantize`) and expected outputs computed in float64 from exactly the values the
kernels see (quantized weights dequantized by `gguf.quants.dequantize` first), rounded to
float32; `index.json` lists the cases. Fixed seeds; run with the tools venv (make tools-venv).
"""
import json
import os

import numpy as np
import torch
from gguf import GGMLQuantizationType
from gguf.quants import dequantize, quantize

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "matmul")


def write(name, array):
    np.ascontiguousarray(array).tofile(os.path.join(OUT, name))
    return name


def encode(w, dtype):
    """(stored bytes, float64 values the kernel multiplies by) of float32 `w` as `dtype`."""
    if dtype == "F32":
        return w.astype("<f4").tobytes(), w.astype(np.float64)
    if dtype == "F16":
        h = w.astype("<f2")
        return h.tobytes(), h.astype(np.float64)
    if dtype == "BF16":
        b = torch.from_numpy(w).to(torch.bfloat16)
        bits = b.view(torch.int16).numpy().astype("<i2")
        return bits.tobytes(), b.to(torch.float64).numpy()
    qtype = {"Q8_0": GGMLQuantizationType.Q8_0, "Q4_0": GGMLQuantizationType.Q4_0}[dtype]
    q = quantize(w, qtype)
    return q.tobytes(), dequantize(q, qtype).astype(np.float64)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240607)
    index = {"linear": [], "multiplyTransposed": [], "multiply": []}

    # Prefill-sized activations: 67 rows of 288 columns (288 = 256 + 32: two k blocks).
    count, columns, rows = 67, 288, 37
    x = rng.uniform(-1, 1, (count, columns)).astype(np.float32)
    write("x_67x288.f32", x)
    bias = rng.uniform(-1, 1, rows).astype(np.float32)
    write("bias_37.f32", bias)
    w = rng.standard_normal((rows, columns)).astype(np.float32)
    # Small, odd-sized case for the float types' scalar tails: 9 rows of 45 columns, 13 outputs.
    xs = rng.uniform(-1, 1, (9, 45)).astype(np.float32)
    write("x_9x45.f32", xs)
    ws = rng.standard_normal((13, 45)).astype(np.float32)
    bias_s = rng.uniform(-1, 1, 13).astype(np.float32)
    write("bias_13.f32", bias_s)

    for dtype in ["F32", "F16", "BF16", "Q8_0", "Q4_0"]:
        raw, values = encode(w, dtype)
        with open(os.path.join(OUT, f"w_37x288_{dtype}.bin"), "wb") as f:
            f.write(raw)
        expected = x.astype(np.float64) @ values.T
        index["linear"].append({
            "dtype": dtype, "count": count, "rows": rows, "columns": columns,
            "x": "x_67x288.f32", "weight": f"w_37x288_{dtype}.bin", "bias": "bias_37.f32",
            "expected": write(f"linear_37x288_{dtype}.f32", expected.astype(np.float32)),
        })
        if dtype in ("F32", "F16", "BF16"):
            raw, values = encode(ws, dtype)
            with open(os.path.join(OUT, f"w_13x45_{dtype}.bin"), "wb") as f:
                f.write(raw)
            expected = xs.astype(np.float64) @ values.T
            index["linear"].append({
                "dtype": dtype, "count": 9, "rows": 13, "columns": 45,
                "x": "x_9x45.f32", "weight": f"w_13x45_{dtype}.bin", "bias": "bias_13.f32",
                "expected": write(f"linear_13x45_{dtype}.f32", expected.astype(np.float32)),
            })

    # A · Bᵀ on strided views: A = x[:, :270] (lda 288), B = w[:, :270] (ldb 288).
    k = 270
    expected = x[:, :k].astype(np.float64) @ w[:, :k].astype(np.float64).T
    index["multiplyTransposed"].append({
        "m": count, "n": rows, "k": k, "a": "x_67x288.f32", "lda": columns, "b": "w_37x288_F32.bin", "ldb": columns,
        "expected": write("mt_67x37x270.f32", expected.astype(np.float32)),
    })
    # A · B: A = x[:, :37] (lda 288), B = w[:, :100] as 37 rows of 100 (ldb 288).
    kk, n = rows, 100
    expected = x[:, :kk].astype(np.float64) @ w[:, :n].astype(np.float64)
    index["multiply"].append({
        "m": count, "n": n, "k": kk, "a": "x_67x288.f32", "lda": columns, "b": "w_37x288_F32.bin", "ldb": columns,
        "expected": write("mm_67x100x37.f32", expected.astype(np.float32)),
    })
    with open(os.path.join(OUT, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
