#!/usr/bin/env python3
"""What llama.cpp's own converters write for models/demo-llava (LLaVA-1.5 layout, 1.5 M params).

Writes Tests/Fixtures/llamacpp-export/demo-llava.json: for each output the converters make, every
metadata entry (key, GGUF value type, value) in file order and every tensor (name, ggml dimensions
innermost first, ggml type, SHA-256 of its bytes) in file order. `eah-convert convert --to gguf`
must write the same (tests: LlamaCppExportTests). The GGUF files themselves are not committed.

Converters, from the llama.cpp that the pinned llama-cpp-python 0.3.36 sdist vendors
(tools/llama-cpp.sh extracts it under ~/.cache/eah), run with their own gguf-py:
* text model: convert_hf_to_gguf.py MODEL --outtype f32|f16|q8_0 (LlamaModel: LlavaForConditionalGeneration
  is registered there; vision tensors are skipped, Q/K rows permuted).
* mmproj: convert_hf_to_gguf.py --mmproj refuses LLaVA-1.5 at this version (LlavaVisionModel takes only
  pixtral / Mistral 3), so the documented legacy path is used: llava_surgery_v2.py's projector extraction
  (the `multi_modal_projector.*` tensors as F32 into llava.projector), the CLIP tower as a CLIPVisionModel
  folder (`vision_model.*`; surgery's llava.clip keeps transformers 5's bare `vision_tower.*` names, which
  CLIPVisionModel.from_pretrained would silently re-initialise), and, under transformers 4.57.1
  (tools/requirements-legacy-mmproj.txt; the script fails on transformers 5),
  tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py -m VIT --llava-projector ... --clip-model-is-vision
  [--use-f32] with the model's image mean/std.

Run: /work/main/.venv/bin/python tools/make_llamacpp_export_fixtures.py [LLAMA_CPP_SOURCE]
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLAMA = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/eah/llama-cpp-python-0.3.36/vendor/llama.cpp")
sys.path.insert(0, os.path.join(LLAMA, "gguf-py"))
import gguf  # noqa: E402  (llama.cpp's own gguf-py)
import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402

MODEL = os.path.join(ROOT, "models", "demo-llava")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "llamacpp-export", "demo-llava.json")


# The legacy mmproj converter needs transformers 4 (transformers 5's CLIPVisionModel has no
# `vision_model`): requirements-legacy-mmproj.txt installed with `pip --target` over the tools venv.
LEGACY = os.environ.get("EAH_LEGACY_MMPROJ_PY", os.path.expanduser("~/.cache/eah/legacy-mmproj-py"))


def run(args, legacy=False):
    if legacy and not os.path.isdir(os.path.join(LEGACY, "transformers")):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", LEGACY, "-r",
                        os.path.join(ROOT, "tools", "requirements-legacy-mmproj.txt")], check=True)
    path = [LEGACY] if legacy else []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path + [os.path.join(LLAMA, "gguf-py")]))
    result = subprocess.run([sys.executable] + args, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")


def value_json(field):
    types = [t.name for t in field.types]
    value = field.contents()
    if isinstance(value, float):
        # float32 values as their exact bit pattern (JSON decimals would round).
        value = {"f32bits": int(np.float32(value).view(np.uint32))} if types[0] == "FLOAT32" else value
    elif isinstance(value, list) and types[-1] == "FLOAT32":
        value = [{"f32bits": int(np.float32(v).view(np.uint32))} for v in value]
    return {"key": field.name, "type": types, "value": value}


def describe(path):
    reader = gguf.GGUFReader(path)
    metadata = [value_json(f) for name, f in reader.fields.items() if not name.startswith("GGUF.")]
    tensors = [{
        "name": t.name,
        "shape": [int(d) for d in t.shape],
        "type": t.tensor_type.name,
        "sha256": hashlib.sha256(np.ascontiguousarray(t.data).tobytes()).hexdigest(),
    } for t in reader.tensors]
    return {"metadata": metadata, "tensors": tensors}


def serialize(document):
    """Compact JSON with one line per metadata entry and per tensor (small, and diffs stay readable)."""
    def one(value):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    head = {k: v for k, v in document.items() if k != "outputs"}
    lines = ["{" + one(head)[1:-1] + ',"outputs":{']
    names = list(document["outputs"])
    for index, name in enumerate(names):
        output = document["outputs"][name]
        lines.append(one(name) + ':{"metadata":[')
        lines += [one(entry) + ("," if i + 1 < len(output["metadata"]) else "") for i, entry in enumerate(output["metadata"])]
        lines.append('],"tensors":[')
        lines += [one(tensor) + ("," if i + 1 < len(output["tensors"]) else "") for i, tensor in enumerate(output["tensors"])]
        lines.append("]}" + ("," if index + 1 < len(names) else ""))
    lines.append("}}")
    return "\n".join(lines) + "\n"


def tower_folder(model, vit, vision_config):
    """The CLIP tower of `model`'s model.safetensors (`vision_tower.*`) as a transformers 4 CLIPVisionModel
    folder (`vision_model.*`) with `vision_config`; returns the class embedding, to check the converter read it."""
    from safetensors.torch import save_file
    os.makedirs(vit, exist_ok=True)
    with safe_open(os.path.join(model, "model.safetensors"), "pt") as f:
        tower = {"vision_model." + k[len("vision_tower."):]: f.get_tensor(k).contiguous() for k in f.keys() if k.startswith("vision_tower.")}
        class_embedding = f.get_tensor("vision_tower.embeddings.class_embedding").float().numpy()
    save_file(tower, os.path.join(vit, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(vit, "config.json"), "w") as f:
        json.dump(dict(vision_config, architectures=["CLIPVisionModel"]), f)
    return class_embedding


def legacy_mmprojs(vit, pre, work, class_embedding):
    """convert_image_encoder_to_gguf.py --clip-model-is-vision on `vit` (with its llava.projector), f16 and
    --use-f32, with the image processor's mean/std: {"mmproj-f16": description, "mmproj-f32": description}."""
    outputs = {}
    legacy = os.path.join(LLAMA, "tools", "mtmd", "legacy-models", "convert_image_encoder_to_gguf.py")
    for name, extra in (("mmproj-f16", []), ("mmproj-f32", ["--use-f32"])):
        out = os.path.join(work, name)
        run([legacy, "-m", vit, "--llava-projector", os.path.join(vit, "llava.projector"), "--output-dir", out,
             "--clip-model-is-vision", "--image-mean", *map(str, pre["image_mean"]), "--image-std", *map(str, pre["image_std"])] + extra, legacy=True)
        path = os.path.join(out, "mmproj-model-" + ("f32" if extra else "f16") + ".gguf")
        # The converter must have read the trained tower, not a fresh one.
        stored = next(t for t in gguf.GGUFReader(path).tensors if t.name == "v.class_embd")
        assert np.array_equal(np.asarray(stored.data, dtype=np.float32), class_embedding), "the legacy converter lost the tower's weights"
        outputs[name] = describe(path)
    return outputs


def main():
    work = tempfile.mkdtemp(prefix="llamacpp-export-")
    try:
        outputs = {}
        convert = os.path.join(LLAMA, "convert_hf_to_gguf.py")
        for outtype in ("f32", "f16", "q8_0"):
            path = os.path.join(work, f"text-{outtype}.gguf")
            run([convert, MODEL, "--outfile", path, "--outtype", outtype])
            outputs[f"text-{outtype}"] = describe(path)

        # llava_surgery_v2.py's projector: the multi_modal_projector.* tensors, as F32.
        # Named after the model: the legacy converter records the folder's name as general.name.
        vit = os.path.join(work, "tower", os.path.basename(MODEL))
        os.makedirs(vit)
        with safe_open(os.path.join(MODEL, "model.safetensors"), "pt") as f:
            projector = {k: f.get_tensor(k).float() for k in f.keys() if k.startswith("multi_modal_projector")}
        torch.save(projector, os.path.join(vit, "llava.projector"))
        # The tower as a CLIPVisionModel folder of transformers 4 (`vision_model.*`).
        with open(os.path.join(MODEL, "config.json")) as f:
            class_embedding = tower_folder(MODEL, vit, json.load(f)["vision_config"])
        with open(os.path.join(MODEL, "preprocessor_config.json")) as f:
            pre = json.load(f)
        outputs.update(legacy_mmprojs(vit, pre, work, class_embedding))

        document = {
            "schema": 1,
            "source": "models/demo-llava",
            "made_by": {
                "llama.cpp": "vendored by llama-cpp-python 0.3.36 (sdist on PyPI)",
                "text": "convert_hf_to_gguf.py --outtype {f32,f16,q8_0}",
                "mmproj": "tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py --clip-model-is-vision [--use-f32] (llava_surgery_v2 projector)",
                "script": "tools/make_llamacpp_export_fixtures.py",
            },
            "outputs": outputs,
        }
        os.makedirs(os.path.dirname(OUT), exist_ok=True)
        with open(OUT, "w") as f:
            f.write(serialize(document))
        print(f"wrote {OUT}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
