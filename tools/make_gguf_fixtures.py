#!/usr/bin/env python3
"""Writes the GGUF test fixtures under Tests/Fixtures/gguf with the real gguf-py library.

Run with the pinned reference environment (tools/requirements.txt):

    /work/venv/bin/python tools/make_gguf_fixtures.py

Everything is seeded, so re-running produces identical bytes. Outputs:

  all_types.gguf          v3 file from gguf.GGUFWriter: metadata of every value type (plus an
                          empty array, which gguf-py refuses to write, so the script patches the
                          packer for it) and one tensor per element type.
  all_types_v2.gguf       the same file with the version field patched to 2 (v2 and v3 share the
                          layout).
  all_types.json          what the Swift tests expect from the reader: tensor names, ggml type
                          names, row-major shapes, absolute byte ranges.
  dequant/<TYPE>.bin      raw block bytes of one tensor per type (the bytes stored in the file).
  dequant/<TYPE>.f32      gguf.quants.dequantize of those bytes, little-endian float32. Types
                          gguf-py cannot dequantize (F64, Q8_1, Q8_K) use the obvious numpy
                          float32 expression (noted below).
  quant/input.f32         float32 quantizer inputs: random values, a zero block, a block with a
                          negative maximum, exact .5 ties, subnormals and huge values.
  quant/<TYPE>.bin        gguf.quants.quantize(input, TYPE) for F16, BF16, Q8_0, Q4_0.
  writer_expected.gguf    gguf.GGUFWriter output for the plan used by GGUFWriterTests
                          (default alignment).
  writer_expected_align64.gguf  the same plan with add_custom_alignment(64) called last.
"""

import json
import struct
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf import GGUFValueType as V
from gguf.quants import quantize, dequantize

ROOT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "gguf"
rng = np.random.default_rng(20240611)


def allow_empty_arrays():
    """gguf-py refuses empty arrays; GGUF allows them. Pack them as type + count 0."""
    original = gguf.GGUFWriter._pack_val

    def pack_val(self, val, vtype, add_vtype, sub_type=None):
        if vtype == V.ARRAY and len(val) == 0:
            out = bytearray()
            if add_vtype:
                out += self._pack("I", vtype)
            out += self._pack("I", sub_type)
            out += self._pack("Q", 0)
            return bytes(out)
        return original(self, val, vtype, add_vtype, sub_type)

    gguf.GGUFWriter._pack_val = pack_val


def half_bytes(values):
    return np.asarray(values, dtype=np.float16).view(np.uint8)


def random_blocks(qtype, n_blocks):
    """Random block bytes whose scale fields are finite, so dequantized values are finite."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)

    def put_half(offset):
        raw[:, offset:offset + 2] = half_bytes(rng.uniform(-2, 2, size=n_blocks)).reshape(n_blocks, 2)

    if qtype == T.Q2_K:
        put_half(80); put_half(82)
    elif qtype == T.Q3_K:
        put_half(108)
    elif qtype in (T.Q4_K, T.Q5_K):
        put_half(0); put_half(2)
    elif qtype == T.Q6_K:
        put_half(208)
    elif qtype == T.Q8_K:
        raw[:, 0:4] = np.asarray(rng.uniform(-2, 2, size=n_blocks), dtype=np.float32).view(np.uint8).reshape(n_blocks, 4)
    elif qtype in (T.IQ4_NL, T.IQ4_XS, T.Q4_1, T.Q5_1):
        put_half(0)
        if qtype in (T.Q4_1, T.Q5_1):
            put_half(2)
    elif qtype == T.TQ1_0:
        put_half(52)
    elif qtype == T.TQ2_0:
        put_half(64)
    elif qtype == T.MXFP4:
        raw[:, 0] = rng.integers(100, 150, size=n_blocks, dtype=np.uint8)
        raw[0, 0] = 0  # exercises the e < 2 path of e8m0_to_fp32_half
        raw[1, 0] = 1
    else:
        raise ValueError(qtype)
    return raw


def expected_f32(qtype, raw, element_shape):
    """What gguf-py's dequantize returns; numpy float32 expressions where it has none."""
    if qtype == T.F64:
        return raw.view(np.float64).astype(np.float32)
    if qtype == T.Q8_K:  # d (f32) * qs (int8); gguf-py has no Q8_K dequantizer
        blocks = raw.reshape(-1, 292)
        d = blocks[:, 0:4].copy().view(np.float32)
        qs = blocks[:, 4:260].copy().view(np.int8).astype(np.float32)
        return (qs * d).reshape(-1)
    if qtype == T.Q8_1:  # d (f16) * qs (int8); gguf-py has no Q8_1 dequantizer
        blocks = raw.reshape(-1, 36)
        d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
        qs = blocks[:, 4:36].copy().view(np.int8).astype(np.float32)
        return (qs * d).reshape(-1)
    out = dequantize(raw.reshape(-1) if qtype not in (T.F32, T.F16) else raw, qtype)
    return np.asarray(out, dtype=np.float32).reshape(-1)


def write_all_types():
    allow_empty_arrays()
    path = ROOT / "all_types.gguf"
    writer = gguf.GGUFWriter(str(path), arch="testarch")
    writer.add_uint8("test.u8", 200)
    writer.add_int8("test.i8", -100)
    writer.add_uint16("test.u16", 60000)
    writer.add_int16("test.i16", -30000)
    writer.add_uint32("test.u32", 4_000_000_000)
    writer.add_int32("test.i32", -2_000_000_000)
    writer.add_float32("test.f32", 1.5)
    writer.add_bool("test.bool_true", True)
    writer.add_bool("test.bool_false", False)
    writer.add_string("test.string", "héllo wörld ✓")
    writer.add_uint64("test.u64", 18_000_000_000_000_000_000)
    writer.add_int64("test.i64", -9_000_000_000_000_000_000)
    writer.add_float64("test.f64", 3.141592653589793)
    writer.add_array("test.array_strings", ["a", "bc", "", "déf"])
    writer.add_array("test.array_ints", [1, -2, 3])  # untyped ints become INT32
    writer.add_array("test.array_floats", [0.5, -1.25])  # untyped floats become FLOAT32
    writer.add_key_value("test.array_u8", [1, 2, 255], V.ARRAY, sub_type=V.UINT8)
    writer.add_key_value("test.array_u64", [1, 2**63], V.ARRAY, sub_type=V.UINT64)
    writer.add_key_value("test.array_bools", [True, False, True], V.ARRAY, sub_type=V.BOOL)
    writer.add_key_value("test.array_empty", [], V.ARRAY, sub_type=V.UINT32)
    writer.add_uint32("general.quantization_version", 2)

    tensors = []  # (name, qtype, row-major shape, raw uint8 bytes)

    def add_plain(name, qtype, array):
        writer.add_tensor(name, array)
        tensors.append((name, qtype, list(array.shape), array.view(np.uint8).reshape(-1)))

    f32 = rng.standard_normal((3, 5)).astype(np.float32)
    add_plain("t.F32", T.F32, f32)
    f16 = np.concatenate([rng.standard_normal(12), [65504.0, -0.0, 6e-8, np.inf]]).astype(np.float16).reshape(4, 4)
    add_plain("t.F16", T.F16, f16)
    f64 = rng.standard_normal((2, 3)).astype(np.float64)
    add_plain("t.F64", T.F64, f64)

    bf16_source = rng.standard_normal((2, 16)).astype(np.float32)
    bf16 = quantize(bf16_source, T.BF16)
    writer.add_tensor("t.BF16", bf16, raw_shape=bf16.shape, raw_dtype=T.BF16)
    tensors.append(("t.BF16", T.BF16, [2, 16], bf16.reshape(-1)))

    for qtype in (T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0):
        source = (rng.standard_normal((2, 64)) * 3).astype(np.float32)
        q = quantize(source, qtype)
        writer.add_tensor(f"t.{qtype.name}", q, raw_shape=q.shape, raw_dtype=qtype)
        tensors.append((f"t.{qtype.name}", qtype, [2, 64], q.reshape(-1)))

    random_types = [(T.Q2_K, [2, 256]), (T.Q3_K, [2, 256]), (T.Q4_K, [2, 2, 256]), (T.Q5_K, [2, 256]),
                    (T.Q6_K, [2, 256]), (T.Q8_K, [1, 256]), (T.IQ4_NL, [2, 64]), (T.IQ4_XS, [1, 512]),
                    (T.TQ1_0, [2, 256]), (T.TQ2_0, [1, 256]), (T.MXFP4, [2, 64])]
    for qtype, shape in random_types:
        block, size = gguf.GGML_QUANT_SIZES[qtype]
        n_blocks = int(np.prod(shape)) // block
        raw = random_blocks(qtype, n_blocks)
        byte_shape = (*shape[:-1], shape[-1] // block * size)
        data = raw.reshape(byte_shape)
        writer.add_tensor(f"t.{qtype.name}", data, raw_shape=data.shape, raw_dtype=qtype)
        tensors.append((f"t.{qtype.name}", qtype, shape, raw.reshape(-1)))

    # A tensor gguf-py lists but nobody dequantizes here: I32.
    i32 = np.arange(6, dtype=np.int32).reshape(2, 3)
    add_plain("t.I32", None, i32)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    # Dequantization fixtures and the reader's expectations.
    (ROOT / "dequant").mkdir(exist_ok=True)
    reader = gguf.GGUFReader(str(path))
    by_name = {t.name: t for t in reader.tensors}
    described = []
    for name, qtype, shape, raw in tensors:
        info = by_name[name]
        start = int(info.data_offset)
        stored = np.fromfile(path, dtype=np.uint8)[start:start + int(info.n_bytes)]
        assert np.array_equal(stored, raw), name
        described.append({"name": name, "type": info.tensor_type.name, "shape": shape,
                          "start": start, "end": start + int(info.n_bytes)})
        if qtype is None:
            continue
        raw.tofile(ROOT / "dequant" / f"{qtype.name}.bin")
        values = expected_f32(qtype, raw.copy(), shape)
        assert values.size == int(np.prod(shape)), name
        values.astype("<f4").tofile(ROOT / "dequant" / f"{qtype.name}.f32")

    # Q8_1 cannot live in a gguf-py file (its size table says 40 bytes, ggml says 36).
    q81 = rng.integers(0, 256, size=(3, 36), dtype=np.uint8)
    q81[:, 0:2] = half_bytes(rng.uniform(-2, 2, size=3)).reshape(3, 2)
    q81[:, 2:4] = half_bytes(rng.uniform(-2, 2, size=3)).reshape(3, 2)
    q81.reshape(-1).tofile(ROOT / "dequant" / "Q8_1.bin")
    expected_f32(T.Q8_1, q81.reshape(-1).copy(), [96]).astype("<f4").tofile(ROOT / "dequant" / "Q8_1.f32")

    with open(ROOT / "all_types.json", "w") as out:
        json.dump({"alignment": 32, "tensors": described}, out, indent=1)
        out.write("\n")

    # v2: same structure, version field 2.
    data = bytearray(path.read_bytes())
    assert struct.unpack_from("<I", data, 4)[0] == 3
    struct.pack_into("<I", data, 4, 2)
    (ROOT / "all_types_v2.gguf").write_bytes(bytes(data))


def write_quant_inputs():
    (ROOT / "quant").mkdir(exist_ok=True)
    blocks = []
    blocks.append(rng.standard_normal(32 * 6) * 2)            # random
    blocks.append(np.zeros(32))                                # all zeros
    b = rng.uniform(-1, 1, 32); b[7] = -5.0; blocks.append(b)  # negative maximum
    b = rng.uniform(-1, 1, 32); b[3] = 5.0; blocks.append(b)   # positive maximum
    # ties: max 127 -> Q8_0 scale 1, x * id lands on .5 exactly
    b = np.array([127.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5] + [i + 0.5 for i in range(-12, 12)])
    blocks.append(b)
    # ties for Q4_0: max -8 -> d = 1, id = 1
    b = np.array([-8.0, 0.5, -0.5, 1.5, -1.5, 7.5, -7.5, 2.5] + [i * 0.25 for i in range(-12, 12)])
    blocks.append(b)
    # ties for F16 / BF16 rounding and F16 range edges
    b = np.array([1 + 2**-11, 1 + 3 * 2**-11, 65504.0, 65520.0, 65519.99, -70000.0, 2**-24, 2**-25,
                  3 * 2**-26, 2**-25 * 1.0001, 1e-8, -6.1e-5, 1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8), 3e38,
                  np.nan, -np.inf, np.inf, 1e-45, -1e-45, 1.17549435e-38, 0.1, -0.1,
                  1 / 3, 2 / 3, 1e10, -1e-10, 4.5, 5.5, 6.5, -7.5])
    blocks.append(b)
    blocks.append(rng.uniform(-1, 1, 32) * 1e-39)              # subnormal block
    blocks.append(rng.uniform(-1, 1, 32) * 3e38)               # huge block
    b = rng.uniform(-1, 1, 32) * 1e38; b[0] = 3.4e38; blocks.append(b)
    data = np.concatenate(blocks).astype(np.float32)
    data.astype("<f4").tofile(ROOT / "quant" / "input.f32")
    finite = data.copy()
    # The block with NaN/inf only goes through the plain conversions.
    nan_block = 11
    with np.errstate(all="ignore"):
        for qtype in (T.F16, T.BF16, T.Q8_0, T.Q4_0):
            source = data if qtype in (T.F16, T.BF16) else np.delete(finite.reshape(-1, 32), nan_block, axis=0).reshape(-1)
            out = quantize(source.reshape(1, -1), qtype)
            np.asarray(out).view(np.uint8).reshape(-1).tofile(ROOT / "quant" / f"{qtype.name}.bin")
    with open(ROOT / "quant" / "README", "w") as out:
        out.write("input.f32: float32 little-endian, blocks of 32. F16.bin and BF16.bin convert all of it;\n"
                  f"Q8_0.bin and Q4_0.bin skip block {nan_block} (NaN/inf, whose integer casts numpy leaves undefined).\n")


def writer_plan(writer):
    """The plan GGUFWriterTests rebuilds in Swift: tensor k has bytes (i * 7 + k) & 0xFF."""
    writer.add_string("general.name", "writer test")
    writer.add_uint32("test.count", 7)
    writer.add_float32("test.scale", 0.25)
    writer.add_bool("test.flag", True)
    writer.add_array("test.tokens", ["<s>", "</s>", "hello"])
    writer.add_key_value("test.ids", [1, -1, 5], V.ARRAY, sub_type=V.INT32)
    writer.add_float64("test.f64", -2.5)
    plan = [("a.weight", T.F32, (2, 3)), ("b.q8", T.Q8_0, (2, 32)), ("c.half", T.F16, (5,)),
            ("d.scalar3d", T.F32, (2, 1, 3))]
    for k, (name, qtype, shape) in enumerate(plan):
        block, size = gguf.GGML_QUANT_SIZES[qtype]
        nbytes = int(np.prod(shape)) // block * size
        raw = ((np.arange(nbytes) * 7 + k) & 0xFF).astype(np.uint8)
        if qtype == T.F32:
            writer.add_tensor(name, raw.view(np.float32).reshape(shape))
        elif qtype == T.F16:
            writer.add_tensor(name, raw.view(np.float16).reshape(shape))
        else:
            byte_shape = (*shape[:-1], shape[-1] // block * size)
            writer.add_tensor(name, raw.reshape(byte_shape), raw_shape=byte_shape, raw_dtype=qtype)


def write_writer_fixtures():
    for file_name, alignment in (("writer_expected.gguf", None), ("writer_expected_align64.gguf", 64)):
        writer = gguf.GGUFWriter(str(ROOT / file_name), arch="llama")
        writer_plan(writer)
        if alignment is not None:
            writer.add_custom_alignment(alignment)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()


def main():
    ROOT.mkdir(parents=True, exist_ok=True)
    write_all_types()
    write_quant_inputs()
    write_writer_fixtures()
    total = sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file())
    print(f"wrote {ROOT} ({total} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
