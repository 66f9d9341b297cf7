#!/usr/bin/env python3
"""Writes the PyTorch test fixtures under Tests/Fixtures/torch/ with the real torch library.

Run with the project venv: /work/venv/bin/python tools/make_torch_fixtures.py
Seeds are fixed, so the outputs are reproducible for a given torch version, except
legacy.pt (its storage keys are memory addresses) and torchscript.pt; their tensor values and
expectations do not change between runs.

For every readable checkpoint X.pt (or .bin) an X.expected.json lists, in state-dict order,
each tensor's name, dtype (eah's spelling), shape and its dense C-order bytes as hex, so the
Swift tests compare bytes without Python.
"""
import collections
import io
import json
import os
import pickle
import shutil
import struct
import sys
import zipfile

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "torch")
MARKER = "/tmp/eah_torch_fixture_pwned"

DTYPE_NAMES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
    torch.bool: "BOOL", torch.complex64: "C64", torch.complex128: "C128",
    torch.uint16: "U16", torch.uint32: "U32", torch.uint64: "U64",
}
for _name, _code in [("float8_e4m3fn", "F8_E4M3"), ("float8_e5m2", "F8_E5M2")]:
    if hasattr(torch, _name):
        DTYPE_NAMES[getattr(torch, _name)] = _code


def dense_bytes(t: torch.Tensor) -> bytes:
    """The tensor's dense C-order bytes, as torch lays them out."""
    flat = t.detach().contiguous().reshape(-1)
    if flat.numel() == 0:
        return b""
    if flat.dtype == torch.bool:
        return flat.to(torch.uint8).numpy().tobytes()
    return flat.view(torch.uint8).numpy().tobytes()


def expected(tensors) -> list:
    return [
        {"name": name, "dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "hex": dense_bytes(t).hex()}
        for name, t in tensors
    ]


def write_expected(path: str, tensors) -> None:
    with open(path + ".expected.json", "w") as handle:
        json.dump(expected(tensors), handle, indent=1)
        handle.write("\n")


def out(*parts) -> str:
    return os.path.join(ROOT, *parts)


def dtype_state_dict() -> "collections.OrderedDict[str, torch.Tensor]":
    g = torch.Generator().manual_seed(1234)
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(3, 4, generator=g)
    sd["f16"] = torch.randn(5, generator=g).to(torch.float16)
    sd["bf16"] = torch.randn(2, 3, generator=g).to(torch.bfloat16)
    sd["i64"] = torch.randint(-1000, 1000, (4,), generator=g, dtype=torch.int64)
    sd["i32"] = torch.randint(-1000, 1000, (2, 2), generator=g, dtype=torch.int32)
    sd["i16"] = torch.randint(-1000, 1000, (3,), generator=g, dtype=torch.int16)
    sd["i8"] = torch.randint(-128, 127, (6,), generator=g, dtype=torch.int8)
    sd["u8"] = torch.randint(0, 255, (7,), generator=g, dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True, True, False])
    sd["f64"] = torch.randn(3, generator=g, dtype=torch.float64)
    sd["c64"] = torch.randn(2, generator=g, dtype=torch.complex64)
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    if hasattr(torch, "float8_e4m3fn"):
        sd["f8_e4m3"] = torch.randn(4, generator=g).to(torch.float8_e4m3fn)
    if hasattr(torch, "float8_e5m2"):
        sd["f8_e5m2"] = torch.randn(4, generator=g).to(torch.float8_e5m2)
    sd["u16"] = torch.randint(0, 60000, (3,), generator=g, dtype=torch.int64).to(torch.uint16)
    return sd


def views_state_dict():
    g = torch.Generator().manual_seed(99)
    base = torch.randn(3, 4, generator=g)
    shared = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    sd = collections.OrderedDict()
    sd["transposed"] = torch.randn(2, 3, generator=g).t()          # stride (1, 3)
    sd["row_slice"] = base[1:3]                                     # contiguous, storage offset 4
    sd["column_slice"] = base[:, 1:3]                              # offset 1, stride (4, 1)
    sd["expanded"] = torch.arange(3, dtype=torch.int32).expand(4, 3)  # stride (0, 1)
    sd["shared_full"] = shared                                      # same storage as the next two
    sd["shared_row"] = shared[2]                                    # offset 8
    sd["shared_t"] = shared.t()
    return sd


def save_zip_with_records(path: str, records) -> None:
    """Writes a torch-style zip (torch's own PyTorchFileWriter) holding `records` (name, bytes)."""
    writer = torch._C.PyTorchFileWriter(path)
    for name, data in records:
        writer.write_record(name, data, len(data))
    writer.write_end_of_file()
    del writer


class SystemCall:
    """Pickles as a call to os.system (pickle writes module `posix` on Linux)."""

    def __reduce__(self):
        return (os.system, ("touch " + MARKER,))


class EvalCall:
    def __reduce__(self):
        return (eval, ("__import__('os').system('touch " + MARKER + "')",))


def main() -> None:
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(out("sharded"))

    # 1. Every dtype, zip format.
    sd = dtype_state_dict()
    torch.save(sd, out("dtypes.pt"))
    write_expected(out("dtypes.pt"), sd.items())

    # 2. Views: transposed, offset slices, expanded, shared storage.
    views = views_state_dict()
    torch.save(views, out("views.pt"))
    write_expected(out("views.pt"), views.items())

    # 3. Nested state dicts, a Parameter, and a module's state_dict (with _metadata).
    g = torch.Generator().manual_seed(7)
    inner = collections.OrderedDict(weight=torch.randn(2, 2, generator=g), bias=torch.randn(2, generator=g))
    torch.save({"state_dict": inner, "epoch": 3, "note": "trained"}, out("nested_state_dict.pt"))
    write_expected(out("nested_state_dict.pt"), inner.items())
    torch.save({"model": inner, "optimizer": {"lr": 0.1, "step": 10}}, out("nested_model.pt"))
    write_expected(out("nested_model.pt"), inner.items())
    linear = torch.nn.Linear(3, 2)
    with torch.no_grad():
        linear.weight.copy_(torch.randn(2, 3, generator=g))
        linear.bias.copy_(torch.randn(2, generator=g))
    module_sd = torch.nn.Sequential(linear).state_dict()
    torch.save(module_sd, out("module_state_dict.pt"))
    write_expected(out("module_state_dict.pt"), module_sd.items())
    params = collections.OrderedDict(p=torch.nn.Parameter(torch.randn(3, generator=g)))
    torch.save(params, out("parameter.pt"))
    write_expected(out("parameter.pt"), params.items())

    # 4. Legacy (pre-1.6) pickle sequence.
    legacy = collections.OrderedDict()
    legacy["a"] = torch.randn(2, 3, generator=g)
    legacy["b"] = torch.arange(5, dtype=torch.int64)
    legacy["a_t"] = legacy["a"].t()
    legacy["h"] = torch.randn(4, generator=g).to(torch.float16)
    torch.save(legacy, out("legacy.pt"), _use_new_zipfile_serialization=False)
    write_expected(out("legacy.pt"), legacy.items())

    # 5. Big-endian archive: same pickle, byteorder "big", storages byte-swapped per element.
    small = collections.OrderedDict(w=torch.randn(2, 3, generator=g), n=torch.arange(3, dtype=torch.int64),
                                    h=torch.randn(2, generator=g).to(torch.float16))
    buffer = io.BytesIO()
    torch.save(small, buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    sizes = {"0": 4, "1": 8, "2": 2}
    records = []
    for info in source.infolist():
        name = info.filename.split("/", 1)[1]
        data = source.read(info.filename)
        if name in ("version", ".data/serialization_id", ".data/version"):
            continue
        if name == "byteorder":
            data = b"big"
        elif name.startswith("data/"):
            size = sizes[name[5:]]
            data = b"".join(data[i:i + size][::-1] for i in range(0, len(data), size))
        records.append((name, data))
    save_zip_with_records(out("big_endian.pt"), records)
    write_expected(out("big_endian.pt"), small.items())

    # 6. Sharded pair with its index (for the generic sharded-index reader).
    shard_sd = collections.OrderedDict()
    shard_sd["layer.0.weight"] = torch.randn(4, 4, generator=g)
    shard_sd["layer.0.bias"] = torch.randn(4, generator=g)
    shard_sd["layer.1.weight"] = torch.randn(4, 4, generator=g).to(torch.float16)
    shard_sd["layer.1.bias"] = torch.randn(4, generator=g).to(torch.float16)
    names = list(shard_sd)
    shards = [names[:2], names[2:]]
    weight_map = collections.OrderedDict()
    total = 0
    for index, shard_names in enumerate(shards, start=1):
        file = f"pytorch_model-{index:05d}-of-{len(shards):05d}.bin"
        part = collections.OrderedDict((name, shard_sd[name]) for name in shard_names)
        torch.save(part, out("sharded", file))
        write_expected(out("sharded", file), part.items())
        for name in shard_names:
            weight_map[name] = file
            total += shard_sd[name].numel() * shard_sd[name].element_size()
    with open(out("sharded", "pytorch_model.bin.index.json"), "w") as handle:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, handle, indent=2)
        handle.write("\n")

    # 7. Malicious pickles: nothing may run. The marker file would appear if anything did.
    common = [("byteorder", b"little")]
    save_zip_with_records(out("malicious_os_system.pt"),
                          [("data.pkl", pickle.dumps(SystemCall(), protocol=2))] + common)
    save_zip_with_records(out("malicious_eval.pt"),
                          [("data.pkl", pickle.dumps(EvalCall(), protocol=2))] + common)
    # A malicious global nested inside an otherwise ordinary state dict.
    nested = collections.OrderedDict(ok=torch.ones(2), evil=SystemCall())
    torch.save(nested, out("malicious_nested.pt"))
    with open(out("malicious_legacy.pt"), "wb") as handle:
        pickle.dump(0x1950A86A20F9469CFC6C, handle, protocol=2)
        pickle.dump(1001, handle, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True,
                     "type_sizes": {"short": 2, "int": 4, "long": 4}}, handle, protocol=2)
        pickle.dump(SystemCall(), handle, protocol=2)
        pickle.dump([], handle, protocol=2)

    # 8. A stored entry whose bytes no longer match its CRC-32: flip one byte of data/0.
    shutil.copyfile(out("dtypes.pt"), out("bad_crc.pt"))
    with zipfile.ZipFile(out("bad_crc.pt")) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith("/data/0"))
    with open(out("bad_crc.pt"), "r+b") as handle:
        handle.seek(info.header_offset + 26)
        name_length, extra_length = struct.unpack("<HH", handle.read(4))
        data_offset = info.header_offset + 30 + name_length + extra_length
        handle.seek(data_offset)
        first = handle.read(1)
        handle.seek(data_offset)
        handle.write(bytes([first[0] ^ 0xFF]))

    # 9. A TorchScript archive (has constants.pkl): not a plain checkpoint.
    torch.manual_seed(0)
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), out("torchscript.pt"))

    if os.path.exists(MARKER):
        sys.exit("marker file exists; something executed a malicious pickle")
    total_bytes = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(ROOT) for f in fs)
    print(f"wrote fixtures to {os.path.normpath(ROOT)} ({total_bytes} bytes), torch {torch.__version__}")


if __name__ == "__main__":
    main()
