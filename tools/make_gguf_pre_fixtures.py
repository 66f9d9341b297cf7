#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer-gguf-pre/: byte-level GGUF vocabularies for the
`tokenizer.ggml.pre` types of the families eah supports that tokenizer-bytelevel/ does not cover
(there: qwen2, llama-bpe, gpt-2, default), and llama.cpp's ids and pieces for them:

- smollm.gguf: SmolVLM's shape (tokenizer-added/smolvlm.json: SmolLM's GPT-2-style BPE with
  <fake_token_around_image>, <image>, <global-img>, <row_R_col_C> and added tokens with every flag),
  pre `smollm` (llama.cpp: digits one by one, then the GPT-2 expression; clean_spaces off);
- internvl-qwen2.gguf: InternVL's shape (tokenizer-added/internvl.json: Qwen2 BPE with <img>,
  </img>, <IMG_CONTEXT>, … and every flag), pre `qwen2`;
- llama3.gguf, llama-v3.gguf, deepseek-r1-qwen.gguf: the bytelevel fixture's vocabulary under the
  names llama.cpp maps to the LLaMA 3 and Qwen2 expressions.

Written as convert_hf_to_gguf.py's _set_vocab_gpt2 does (special added tokens CONTROL, the other
added tokens USER_DEFINED; make_bytelevel_fixtures.write_gguf). expected.jsonl: per string the
ids llama.cpp's tokenizer gives (tools/llama_reference.py: llama-tokenize's defaults) and the
decoded text: its per-token pieces joined, control tokens left out.

Run with the pinned venv after make_added_token_fixtures.py:
    .venv/bin/python tools/make_gguf_pre_fixtures.py
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import llama_reference  # noqa: E402
import make_added_token_fixtures as added  # noqa: E402
import make_bytelevel_fixtures as bytelevel  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, ".."))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")
OUT = os.path.join(FIXTURES, "tokenizer-gguf-pre")

# (GGUF name, tokenizer.json it is made from, tokenizer.ggml.pre)
VARIANTS = [
    ("smollm", "tokenizer-added/smolvlm.json", "smollm"),
    ("internvl-qwen2", "tokenizer-added/internvl.json", "qwen2"),
    ("llama3", "tokenizer-bytelevel/qwen2.json", "llama3"),
    ("llama-v3", "tokenizer-bytelevel/qwen2.json", "llama-v3"),
    ("deepseek-r1-qwen", "tokenizer-bytelevel/qwen2.json", "deepseek-r1-qwen"),
]


def main():
    import gguf
    os.makedirs(OUT, exist_ok=True)
    strings = bytelevel.test_strings() + added.prompts()
    for flags_source in ("tokenizer-added/smolvlm.json", "tokenizer-added/internvl.json"):
        with open(os.path.join(FIXTURES, flags_source), encoding="utf-8") as f:
            for token in json.load(f)["added_tokens"]:
                strings += [f"x {token['content']} y", f"a{token['content']}b", f"  {token['content']}\n"]
    strings = [s for s in dict.fromkeys(strings) if len(s) <= 300]  # the long runs are covered in tokenizer-bytelevel
    results = {}
    for name, source, pre in VARIANTS:
        with open(os.path.join(FIXTURES, source), encoding="utf-8") as f:
            doc = json.load(f)
        path = os.path.join(OUT, name + ".gguf")
        bytelevel.write_gguf(doc, pre, path)
        reader = gguf.GGUFReader(path)
        types = reader.fields["tokenizer.ggml.token_type"]
        control = {i for i, part in enumerate(types.data) if int(types.parts[part][0]) == gguf.TokenType.CONTROL}
        results[name] = [(ids, b"".join(p for i, p in zip(ids, pieces) if i not in control).decode("utf-8", "replace"))
                         for ids, pieces in llama_reference.tokenize(path, strings)]
    with open(os.path.join(OUT, "expected.jsonl"), "w", encoding="utf-8") as f:
        for index, text in enumerate(strings):
            record = {"text": text}
            for name, _, _ in VARIANTS:
                record[name], record[name + "_decoded"] = results[name][index]
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    print("wrote", OUT, len(strings), "strings,", len(VARIANTS), "vocabularies")


if __name__ == "__main__":
    sys.exit(main())
