#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer-real/: the reference ids and decoded texts of real
vocabularies on about 300 strings (code with indentation and runs of spaces, several scripts,
emoji, control characters, leading/trailing whitespace, chat template markers), for
RealTokenizerTests. The vocabularies themselves are fetched by tools/fetch_real_tokenizers.py
(not committed); sources.json records the packages, versions and sha256 used.

References:
- mistral-v1/v3/v7.model: sentencepiece (ids without BOS, and sp.decode);
- mistral-v3.json: tokenizers (ids with special tokens, decode with and without them);
- gemma-3-270m-q4_k_m.gguf: llama.cpp's tokenizer (tools/llama_reference.py: ids with BOS, special
  tokens parsed, as llama-tokenize's defaults) and its per-token pieces, joined without control tokens.

Run with the pinned venv: .venv/bin/python tools/make_real_tokenizer_fixtures.py
"""
import hashlib
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fetch_real_tokenizers as fetch  # noqa: E402
import llama_reference  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "tokenizer-real")

PROSE = ["The quick brown fox jumps over the lazy dog.", "What is shown in this image? Describe it in detail.",
         "It's a cat; it isn't a dog, and they're both asleep.", "Prices rose 3.5% to $1,234.56 in Q3 2024.",
         "She said: \"Hello, world!\" and left.", "e-mail: someone@example.com, url: https://example.org/a?b=c&d=e"]
SCRIPTS = ["Привет, как дела? Всё хорошо.", "Καλημέρα κόσμε", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया",
           "สวัสดีชาวโลก", "你好，世界！今天天气很好。", "こんにちは、世界。カタカナとひらがな", "안녕하세요 세계",
           "Ünïcödé ñ ß æ ø å ł ő", "e\u0301 a\u0308 n\u0303 (combining)", "ﬁ ﬂ Ａ１ ｶﾞ (compatibility)"]
EMOJI = ["😀", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🇫🇷", "🏳️‍🌈", "❤️", "🚀✨", "🧑🏿‍🚀"]
CODE = [
    "def f(x):\n    if x > 0:\n        return x * 2\n    return -x\n",
    "int main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
    "{\n  \"key\": [1, 2, 3],\n  \"nested\": {\"a\": null}\n}",
    "steps:\n  - name: build\n    run: |\n      make   all\n",
    "for (let i = 0; i < n; i++) {\n        sum += a[i];   // accumulate\n}",
    "x  =  1\ny   =   2\nz    =    3",
    "SELECT  id,\n        name\n  FROM  users\n WHERE  age >= 18;",
    "    \n        \n\t\t\n",
    "class A:\n\n\n\n    pass\n\n\n\n\n\n",
]
MARKERS = [
    "<start_of_turn>user\nWhat is in the image?<end_of_turn>\n<start_of_turn>model\n",
    "<bos><start_of_turn>user\nHi<end_of_turn>", "<start_of_image><image_soft_token><end_of_image>", "<eos>", "<pad>", "<mask>",
    "[INST] What is this? [/INST]", "<s>[INST] Hello [/INST] Hi</s>", "[IMG]", "<unk>", "</s>", "<s>", "[multimodal]",
    "USER: <image>\nWhat is shown? ASSISTANT:", "<|im_start|>user\nHi<|im_end|>", "<start_of_turn>", "<start_of_turn",
    "text<end_of_turn>text", "  <start_of_turn>  ", "<unused0><unused99>",
]
CONTROL = ["\x00", "a\x00b", "\x01\x02\x03", "\x1b[31mred\x1b[0m", "\x7f", "\u200b", "\ufeffBOM", "a\u00a0b", "\u2028line\u2029",
           "tab\there", "\r\n", "\r", "\x0b\x0c"]
WHITESPACE = ["", " ", "  ", "   ", "    leading", "trailing    ", "  both  ", "\n", "\n\n", "\n\n\n", "\t", " \t \n ",
              "  leading spaces", "a  b   c    d     e", " " * 31, " " * 40, "\n" * 31, "\n" * 40, "x" + " " * 29 + "y",
              " \n \n", "\n  \n  x"]


def strings():
    rng = random.Random(17)
    items = WHITESPACE + CONTROL + MARKERS + CODE + PROSE + SCRIPTS + EMOJI
    pools = [PROSE, SCRIPTS, EMOJI, CODE, MARKERS, CONTROL, ["  ", "   ", "\t", "\n", "\n\n", "    ", " "]]
    while len(items) < 300:
        parts = [rng.choice(rng.choice(pools)) for _ in range(rng.randint(2, 5))]
        text = rng.choice(["", " ", "  ", "\n", "\t"]).join(parts)
        if rng.random() < 0.3:
            text = rng.choice([" ", "  ", "\n", "    "]) + text
        if rng.random() < 0.3:
            text += rng.choice([" ", "  ", "\n", "\n\n"])
        items.append(text)
    return items


def main():
    import gguf
    import sentencepiece as spm
    import tokenizers
    from tokenizers import Tokenizer
    folder = fetch.main()
    os.makedirs(OUT, exist_ok=True)
    sps = {v: spm.SentencePieceProcessor(model_file=os.path.join(folder, f"mistral-{v}.model")) for v in ("v1", "v3", "v7")}
    fast = Tokenizer.from_file(os.path.join(folder, "mistral-v3.json"))
    gemma = os.path.join(folder, "gemma-3-270m-q4_k_m.gguf")
    gemma_types = gguf_token_types(gemma)
    items = strings()
    llama = llama_reference.tokenize(gemma, items)
    with open(os.path.join(OUT, "expected.jsonl"), "w", encoding="utf-8") as f:
        for text, (gemma_ids, pieces) in zip(items, llama):
            record = {"text": text}
            for v, sp in sps.items():
                ids = sp.encode(text)
                record[f"mistral_{v}"] = ids
                record[f"mistral_{v}_decoded"] = sp.decode(ids)
            ids = fast.encode(text, add_special_tokens=True).ids
            record["mistral_v3_json"] = ids
            record["mistral_v3_json_decoded"] = fast.decode(ids, skip_special_tokens=False)
            record["mistral_v3_json_decoded_skip"] = fast.decode(ids, skip_special_tokens=True)
            record["gemma"] = gemma_ids
            joined = b"".join(p for i, p in zip(gemma_ids, pieces) if gemma_types[i] != gguf.TokenType.CONTROL)
            record["gemma_decoded"] = joined.decode("utf-8", "replace")
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    llama_version = os.path.basename(os.path.dirname(os.path.dirname(os.path.dirname(llama_reference.batch_binary()))))
    sources = {
        "schema": 1,
        "packages": {req.split("==")[0]: {"version": req.split("==")[1], "wheel_sha256": digest} for req, digest in fetch.WHEELS.items()},
        "files": {name: {"sha256": digest} for name, digest in fetch.FILES.items()},
        "converted": {"mistral-v3.json": {"from": "mistral-v3.model", "by": "transformers LlamaTokenizerFast(legacy=False)",
                                          "sha256": fetch.sha256(os.path.join(folder, "mistral-v3.json"))}},
        "references": {"sentencepiece": spm.__version__, "tokenizers": tokenizers.__version__,
                       "llama.cpp": f"{llama_version} (tools/llama-cpp.sh, tools/llama_reference.py)"},
        "strings": len(items),
    }
    with open(os.path.join(OUT, "sources.json"), "w") as f:
        json.dump(sources, f, indent=2)
        f.write("\n")
    print("wrote", OUT, len(items), "strings")


def gguf_token_types(path):
    """tokenizer.ggml.token_type of a GGUF, read without its tensors."""
    import gguf

    class MetadataOnly(gguf.GGUFReader):
        def _build_tensors(self, *args, **kwargs):
            self.tensors = []

    return list(MetadataOnly(path).fields["tokenizer.ggml.token_type"].contents())


if __name__ == "__main__":
    main()
