"""Benchmark models for `make bench` (tools/bench.sh), written once into bench-data/.

  make_bench_models.py tinyllama OUT.gguf
      A TinyLlama-1.1B-shaped llama GGUF (hidden 2048, 22 layers, 32 heads, 4 KV heads, FFN 5632,
      vocab 32000) with llama.cpp's tensor names, random F16 weights (normal, σ 0.02; F32 norms)
      and a placeholder SentencePiece vocabulary, so llama.cpp (llama-bench, llama-quantize) and
      eah-bench load the same file. tools/bench.sh quantizes it with llama-quantize.

Everything is pseudo-random with a fixed seed; only shapes and types matter for speed.
"""
import sys

import numpy as np
from gguf import GGUFWriter, TokenType

HIDDEN, LAYERS, HEADS, KV_HEADS, FFN, VOCAB = 2048, 22, 32, 4, 5632, 32000


def vocabulary(writer, size):
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens += [f"\u2581t{i}" for i in range(size - len(tokens))]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    types += [TokenType.NORMAL] * (size - len(types))
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([-float(i) for i in range(size)])
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)


def tinyllama(path):
    rng = np.random.default_rng(1234)
    writer = GGUFWriter(path, "llama")
    writer.add_name("tinyllama-shaped random")
    writer.add_context_length(2048)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_rope_dimension_count(HIDDEN // HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(1)
    vocabulary(writer, VOCAB)

    def matrix(name, rows, columns):
        writer.add_tensor(name, (rng.standard_normal((rows, columns), dtype=np.float32) * 0.02).astype(np.float16))

    def norm(name):
        writer.add_tensor(name, np.ones(HIDDEN, dtype=np.float32))

    kv = HIDDEN // HEADS * KV_HEADS
    matrix("token_embd.weight", VOCAB, HIDDEN)
    for layer in range(LAYERS):
        p = f"blk.{layer}."
        norm(p + "attn_norm.weight")
        matrix(p + "attn_q.weight", HIDDEN, HIDDEN)
        matrix(p + "attn_k.weight", kv, HIDDEN)
        matrix(p + "attn_v.weight", kv, HIDDEN)
        matrix(p + "attn_output.weight", HIDDEN, HIDDEN)
        norm(p + "ffn_norm.weight")
        matrix(p + "ffn_gate.weight", FFN, HIDDEN)
        matrix(p + "ffn_up.weight", FFN, HIDDEN)
        matrix(p + "ffn_down.weight", HIDDEN, FFN)
    norm("output_norm.weight")
    matrix("output.weight", VOCAB, HIDDEN)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "tinyllama":
        sys.exit("usage: make_bench_models.py tinyllama OUT.gguf")
    tinyllama(sys.argv[2])
