#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer-bytelevel/: small ByteLevel BPE tokenizers trained with the
`tokenizers` library in the three shapes real tokenizer.json files have, GGUF vocabularies made
from them the way llama.cpp's convert_hf_to_gguf.py writes a `gpt2` vocabulary, and the reference
ids and decoded texts:

- qwen2.json: Qwen2's pipeline (NFC; Split by Qwen2's regex, Isolated; ByteLevel without regex;
  ByteLevel decoder), ChatML special tokens and non-special added tokens with every flag;
- gpt2.json: GPT-2's (ByteLevel pre-tokenizer with its own regex and add_prefix_space);
- llama3.json: LLaMA 3's (Split by its regex, ignore_merges, TemplateProcessing adding BOS);
- <pre>.gguf for tokenizer.ggml.pre in qwen2, llama-bpe, gpt-2, default, tokenized by llama.cpp's
  llama.cpp's tokenizer (tools/llama_reference.py).

expected.jsonl: one record per string with the tokenizers ids (with and without special tokens)
and decodes for each json, and llama-tokenize's ids for each GGUF.

Run with the pinned venv: .venv/bin/python tools/make_bytelevel_fixtures.py
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_reference  # noqa: E402
import make_tokenizer_fixtures as base  # noqa: E402

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "tokenizer-bytelevel"))

QWEN2_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
LLAMA3_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>"]

CODE = [
    "def f(x):\n    return x  # comment\n",
    "if (a && b) {\n\tprintf(\"%d\\n\", a);\n}\n",
    "for i in range(10):\n        print(i, end='')\n\n\n",
    "    indented line\n  two spaces\n\ttab\r\n",
    "x = {'key': [1, 2, 3], \"other\": None}",
    "SELECT * FROM t WHERE a >= 10 AND b <> 'x';",
    "    \n    \n",
]
CONTRACTIONS = ["I'm here, you're there, we'll see", "IT'S HE'LL THEY'VE I'D", "don't 's 'S 'Re 'LL x'", "rock'n'roll ''s '"]
CHAT = ["<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
        "<|im_start|><|im_end|>", "a<|endoftext|>b", "<|im_start|> user", "<|im_start", "im_end|>",
        "<image> and <image>", "x <mask> y", "ab<word>cd <word> e", "[pic] [PIC] [pic]x"]


def training_lines(rng):
    lines = base.training_corpus(rng)
    lines += CODE * 40 + CONTRACTIONS * 20
    lines += ["café naïve résumé Ångström coöperate" for _ in range(30)]
    return lines


def test_strings():
    items = base.test_corpus(random.Random(7))
    # A few hundred strings: every seventh of the shared corpus (it keeps each kind), one long
    # mixed text and the long runs.
    chosen = items[:21] + items[21:-6:7] + [items[-6]] + items[-3:]
    chosen += CODE + CONTRACTIONS + CHAT
    chosen += ["e\u0301 a\u0308 \u212b \u1100\u1161\u11a8 \uff76\uff9e", "Ω\u2126 ﬁ", "1234567 12.5e-3", "  \n\n  x", "a\r\nb\rc",
               "\u00a0 \u2003x\u3000y", "tab\tand\u000bvt", "emoji 👩‍💻 🇫🇷!", "ἀρχή", "\u0000\u0001\u007f"]
    return chosen


def train(rng):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1200, min_frequency=2, special_tokens=SPECIAL[:3],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(training_lines(rng), trainer=trainer)
    return tok


def add_tokens(tok):
    from tokenizers import AddedToken
    tok.add_special_tokens([AddedToken("<|begin_of_text|>", special=True, normalized=False)])
    tok.add_tokens([AddedToken("<image>", special=True, normalized=False),
                    AddedToken("<mask>", special=False, normalized=False, lstrip=True, rstrip=True),
                    AddedToken("<word>", special=False, normalized=False, single_word=True),
                    AddedToken("[pic]", special=False, normalized=True)])


def variants(tok):
    """qwen2, gpt2 and llama3 documents sharing the trained vocabulary and merges."""
    doc = json.loads(tok.to_str())
    doc["post_processor"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    qwen2 = json.loads(json.dumps(doc))
    gpt2 = json.loads(json.dumps(doc))
    gpt2["normalizer"] = None
    gpt2["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    llama3 = json.loads(json.dumps(doc))
    llama3["normalizer"] = None
    llama3["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {"Regex": LLAMA3_REGEX}
    llama3["model"]["ignore_merges"] = True
    bos = next(t["id"] for t in doc["added_tokens"] if t["content"] == "<|begin_of_text|>")
    llama3["post_processor"] = {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                                                  {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [bos], "tokens": ["<|begin_of_text|>"]}}}]}
    return {"qwen2": qwen2, "gpt2": gpt2, "llama3": llama3}


def write_gguf(doc, pre, path):
    """The tokenizer.ggml.* metadata convert_hf_to_gguf.py's _set_vocab_gpt2 writes (special added
    tokens CONTROL, other added tokens USER_DEFINED), with the few hyperparameters llama.cpp needs
    to load a vocabulary-only model."""
    import gguf
    vocab = dict(doc["model"]["vocab"])
    added = {t["id"]: t for t in doc["added_tokens"]}
    for t in added.values():
        vocab[t["content"]] = t["id"]
    size = max(vocab.values()) + 1
    tokens = [None] * size
    for text, i in vocab.items():
        tokens[i] = text
    types = [gguf.TokenType.CONTROL if i in added and added[i]["special"] else
             gguf.TokenType.USER_DEFINED if i in added else gguf.TokenType.NORMAL for i in range(size)]
    merges = [m if isinstance(m, str) else " ".join(m) for m in doc["model"]["merges"]]
    writer = gguf.GGUFWriter(path, "qwen2")
    writer.add_name("eah byte-level tokenizer fixture")
    writer.add_context_length(64)
    writer.add_embedding_length(8)
    writer.add_block_count(1)
    writer.add_feed_forward_length(8)
    writer.add_head_count(1)
    writer.add_head_count_kv(1)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(vocab["<|endoftext|>"])
    writer.add_eos_token_id(vocab["<|im_end|>"])
    writer.add_add_bos_token(False)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main():
    from tokenizers import Tokenizer
    os.makedirs(OUT, exist_ok=True)
    tok = train(random.Random(20240611))
    add_tokens(tok)
    docs = variants(tok)
    tokenizers = {}
    for name, doc in docs.items():
        path = os.path.join(OUT, name + ".json")
        Tokenizer.from_str(json.dumps(doc)).save(path, pretty=False)
        tokenizers[name] = Tokenizer.from_file(path)
    ggufs = {}
    for pre in ("qwen2", "llama-bpe", "gpt-2", "default"):
        path = os.path.join(OUT, pre + ".gguf")
        write_gguf(docs["qwen2"], pre, path)
        ggufs[pre] = path
    strings = test_strings()
    llama = {pre: llama_reference.tokenize(path, strings) for pre, path in ggufs.items()}
    with open(os.path.join(OUT, "expected.jsonl"), "w", encoding="utf-8") as f:
        for index, text in enumerate(strings):
            record = {"text": text}
            for name, t in tokenizers.items():
                ids = t.encode(text, add_special_tokens=True).ids
                record[name] = ids
                record[name + "_plain"] = t.encode(text, add_special_tokens=False).ids
                record[name + "_decoded"] = t.decode(ids, skip_special_tokens=False)
                record[name + "_decoded_skip"] = t.decode(ids, skip_special_tokens=True)
            for pre in ggufs:
                record["gguf_" + pre] = llama[pre][index][0]
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    print("wrote", OUT, len(strings), "strings;", tokenizers["qwen2"].get_vocab_size(), "tokens")


if __name__ == "__main__":
    sys.exit(main())
