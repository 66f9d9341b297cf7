#!/usr/bin/env python3
"""Text GGUFs made by llama.cpp's own tools: quantized files with their F32 dequantizations, and a
Mistral checkpoint as convert_hf_to_gguf writes it.

Writes Tests/Fixtures/textonly/quant/ (eah-run's logits on Q4_K_M and Q4_0):
  tiny-llama-<type>.gguf      a tiny random llama text GGUF (hidden 256, FFN 512, 2 layers, 4 heads,
                              2 KV heads, vocab 301, untied output, a placeholder SentencePiece
                              vocabulary) quantized by llama.cpp's own `llama-quantize` (the
                              llama-cpp-python 0.3.36 build of tools/llama-cpp.sh) to Q4_K_M and Q4_0;
  tiny-llama-<type>-f32.gguf  the same file with every tensor replaced by gguf-py's
                              `gguf.quants.dequantize` of its stored bytes, as F32 (metadata kept,
                              general.file_type 0).
Shapes: k is 256 (attention, gate/up, output) and 512 (ffn_down), one and two Q4_K super-blocks;
the vocabulary's 301 rows (embedding, LM head) are a multiple of no kernel tile. Q4_K_M as
llama.cpp makes it mixes Q4_K with Q6_K (attn_v and ffn_down of the last layer, output), so both
K-quant kernels run; Q4_0 mixes Q4_0 with Q6_K for output. The F32 source GGUF is a temporary file.

Writes Tests/Fixtures/textonly/mistral-gguf/ (a MistralForCausalLM through llama.cpp's converter):
  tiny-mistral.gguf         textonly/tiny-mistral (tools/make_textonly_fixtures.py, sliding window 8)
                            converted by the vendored llama.cpp convert_hf_to_gguf.py --outtype f32:
                            architecture `llama`, and no sliding-window key (llama.cpp's llama
                            architecture attends over the whole context);
  tiny-mistral-window.gguf  the same with `llama.attention.sliding_window` = 8 added, as a GGUF that
                            records the window;
  expected.json             the prompt ids (textonly/expected.json's tiny-mistral entry, longer than
                            the window) and the greedy tokens of transformers 5.24 (eager) on the
                            same weights with sliding_window None (what the file without the key means);
  logits-full.safetensors   F32 `logits` [new tokens, vocab] of that run. With the window, the
                            reference is textonly/tiny-mistral-logits.safetensors and its tokens.
Run: .venv/bin/python tools/make_textonly_gguf_fixtures.py   (builds llama.cpp once if needed)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter, TokenType
from gguf.quants import dequantize

HERE = os.path.dirname(os.path.abspath(__file__))
TEXTONLY = os.path.join(HERE, "..", "Tests", "Fixtures", "textonly")
OUT = os.path.join(TEXTONLY, "quant")
MISTRAL_OUT = os.path.join(TEXTONLY, "mistral-gguf")
LLAMA_CPP = os.path.join(os.environ.get("EAH_LLAMA_CPP_CACHE", os.path.expanduser("~/.cache/eah")), "llama-cpp-python-0.3.36")
HIDDEN, FFN, LAYERS, HEADS, KV_HEADS, VOCAB = 256, 512, 2, 4, 2, 301
TYPES = {"q4_k_m": "Q4_K_M", "q4_0": "Q4_0"}


def vocabulary(writer):
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens += [f"\u2581t{i}" for i in range(VOCAB - len(tokens))]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    types += [TokenType.NORMAL] * (VOCAB - len(types))
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([-float(i) for i in range(VOCAB)])
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)


def write_source(path):
    """The F32 model llama-quantize starts from: matrices N(0, 1/√k) so activations stay O(1)."""
    rng = np.random.default_rng(2026)
    writer = GGUFWriter(path, "llama")
    writer.add_name("tiny llama for quantized logits")
    writer.add_context_length(256)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_rope_dimension_count(HIDDEN // HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(0)
    vocabulary(writer)

    def matrix(name, rows, columns, scale=None):
        sigma = scale if scale is not None else 1 / np.sqrt(columns)
        writer.add_tensor(name, (rng.standard_normal((rows, columns)) * sigma).astype(np.float32))

    def norm(name):
        writer.add_tensor(name, (1 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32))

    kv = HIDDEN // HEADS * KV_HEADS
    matrix("token_embd.weight", VOCAB, HIDDEN, scale=1.0)
    for layer in range(LAYERS):
        p = f"blk.{layer}."
        norm(p + "attn_norm.weight")
        matrix(p + "attn_q.weight", HIDDEN, HIDDEN, scale=2 / np.sqrt(HIDDEN))
        matrix(p + "attn_k.weight", kv, HIDDEN, scale=2 / np.sqrt(HIDDEN))
        matrix(p + "attn_v.weight", kv, HIDDEN)
        matrix(p + "attn_output.weight", HIDDEN, HIDDEN)
        norm(p + "ffn_norm.weight")
        matrix(p + "ffn_gate.weight", FFN, HIDDEN)
        matrix(p + "ffn_up.weight", FFN, HIDDEN)
        matrix(p + "ffn_down.weight", HIDDEN, FFN)
    norm("output_norm.weight")
    matrix("output.weight", VOCAB, HIDDEN, scale=2 / np.sqrt(HIDDEN))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def copy_field(writer, field):
    """Re-adds one metadata field of a GGUFReader to a GGUFWriter, values unchanged."""
    kind = field.types[0]
    if kind == GGUFValueType.ARRAY:
        values = field.contents()
        writer.add_array(field.name, values)
    elif kind == GGUFValueType.STRING:
        writer.add_string(field.name, field.contents())
    else:
        writer.add_key_value(field.name, field.contents(), kind)


def rewrite(source, path, tensor_values, extra=lambda writer: None):
    """`source`'s metadata (general.file_type aside) and tensors as `tensor_values(tensor)` returns
    them, plus what `extra` adds, written to `path`."""
    reader = GGUFReader(source)
    architecture = reader.fields["general.architecture"].contents()
    writer = GGUFWriter(path, architecture)
    skip = {"general.architecture", "GGUF.version", "GGUF.tensor_count", "GGUF.kv_count", "general.file_type"}
    for name, field in reader.fields.items():
        if name not in skip:
            copy_field(writer, field)
    writer.add_file_type(0)
    extra(writer)
    for tensor in reader.tensors:
        writer.add_tensor(tensor.name, np.ascontiguousarray(tensor_values(tensor)))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def write_dequantized(source, path):
    """`source` with every tensor replaced by gguf-py's F32 dequantization of its bytes."""
    def values(tensor):
        shape = [int(n) for n in reversed(tensor.shape)]  # gguf-py lists ne0 first
        return dequantize(tensor.data, tensor.tensor_type).astype(np.float32).reshape(shape)
    rewrite(source, path, values)


def quantized_fixtures():
    os.makedirs(OUT, exist_ok=True)
    llama_bin = subprocess.run([os.path.join(HERE, "llama-cpp.sh"), "llama-quantize"], check=True,
                               stdout=subprocess.PIPE, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as scratch:
        source = os.path.join(scratch, "tiny-llama-f32.gguf")
        write_source(source)
        for suffix, ftype in TYPES.items():
            quantized = os.path.join(OUT, f"tiny-llama-{suffix}.gguf")
            subprocess.run([os.path.join(llama_bin, "llama-quantize"), source, quantized, ftype], check=True,
                           stdout=subprocess.DEVNULL)
            write_dequantized(quantized, os.path.join(OUT, f"tiny-llama-{suffix}-f32.gguf"))
            kinds = sorted({GGMLQuantizationType(t.tensor_type).name for t in GGUFReader(quantized).tensors})
            print(f"{quantized}: {', '.join(kinds)}")


def mistral_fixtures():
    import torch
    from safetensors.torch import save_file
    from transformers import MistralForCausalLM

    os.makedirs(MISTRAL_OUT, exist_ok=True)
    folder = os.path.join(TEXTONLY, "tiny-mistral")
    converted = os.path.join(MISTRAL_OUT, "tiny-mistral.gguf")
    vendor = os.path.join(LLAMA_CPP, "vendor", "llama.cpp")
    subprocess.run([sys.executable, os.path.join(vendor, "convert_hf_to_gguf.py"), folder, "--outtype", "f32", "--outfile", converted],
                   check=True, env={**os.environ, "PYTHONPATH": os.path.join(vendor, "gguf-py")}, stderr=subprocess.DEVNULL)
    reader = GGUFReader(converted)
    assert reader.fields["general.architecture"].contents() == "llama"
    assert not any("sliding_window" in name for name in reader.fields), "convert_hf_to_gguf now records the window"
    window = 8
    rewrite(converted, os.path.join(MISTRAL_OUT, "tiny-mistral-window.gguf"),
            lambda tensor: np.array(tensor.data).reshape([int(n) for n in reversed(tensor.shape)]),
            extra=lambda writer: writer.add_sliding_window(window))
    ids = json.load(open(os.path.join(TEXTONLY, "expected.json")))["tiny-mistral"]["input_ids"]
    assert len(ids) > window
    model = MistralForCausalLM.from_pretrained(folder, attn_implementation="eager", sliding_window=None).eval()
    assert model.config.sliding_window is None
    tokens, rows = [], []
    with torch.no_grad():
        while len(tokens) < 4:
            logits = model(input_ids=torch.tensor([ids + tokens])).logits[0, -1]
            rows.append(logits.float())
            tokens.append(int(torch.argmax(logits)))
            if tokens[-1] == model.config.eos_token_id:
                break
    save_file({"logits": torch.stack(rows).contiguous()}, os.path.join(MISTRAL_OUT, "logits-full.safetensors"))
    expected = {"input_ids": ids, "tokens": tokens}
    with open(os.path.join(MISTRAL_OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    quantized_fixtures()
    mistral_fixtures()
