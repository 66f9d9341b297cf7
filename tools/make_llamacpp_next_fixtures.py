#!/usr/bin/env python3
"""What llama.cpp's converters write for the tiny llava-hf LLaVA-NeXT model (Tests/Fixtures/llava-next/tiny-llava-next-hf).

Writes Tests/Fixtures/llamacpp-export/llava-next.json: every metadata entry (key, GGUF value type, value) and
every tensor (name, ggml dimensions, ggml type, SHA-256 of its bytes) in file order, as
tools/make_llamacpp_export_fixtures.py describes demo-llava. `eah-convert convert --to gguf` must write the
same (LlamaCppNextExportTests). The GGUF files are not committed.

The path of llama.cpp's docs/multimodal/llava.md for LLaVA 1.6, with the llama.cpp llama-cpp-python 0.3.36
vendors (tools/llama-cpp.sh) and its gguf-py:
* text-{f32,f16,q8_0}: convert_hf_to_gguf.py has no LlavaNextForConditionalGeneration, so the language model is
  exported alone as a LlamaForCausalLM folder (named like the model: the converter takes general.name from the
  folder) with the model's tokenizer files and the SentencePiece tokenizer.model its tokenizer.json was made
  from (Tests/Fixtures/tokenizer; eah-convert asks for it beside the model likewise), then
  convert_hf_to_gguf.py --outtype f32|f16|q8_0.
* mmproj-{f32,f16}: llava_surgery_v2.py run on a copy of the model (its llava.projector: the projector tensors
  in checkpoint order, then image_newline), the CLIP tower as a CLIPVisionModel folder (`vision_model.*`)
  whose config.json is the vision config plus the NeXT keys of the docs' config_vit.json (image_grid_pinpoints,
  image_aspect_ratio anyres, mm_patch_merge_type spatial_unpad), then, under transformers 4.57.1
  (tools/requirements-legacy-mmproj.txt), tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py
  --clip-model-is-vision [--use-f32] with the model's image mean/std.

Run: /work/main/.venv/bin/python tools/make_llamacpp_next_fixtures.py [LLAMA_CPP_SOURCE]
"""
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_llamacpp_export_fixtures as export  # noqa: E402  (describe, serialize, run, the legacy mmproj; llama.cpp's gguf-py)
import torch  # noqa: E402
from transformers import LlamaForCausalLM, LlavaNextForConditionalGeneration  # noqa: E402

MODEL = os.path.join(export.ROOT, "Tests", "Fixtures", "llava-next", "tiny-llava-next-hf")
OUT = os.path.join(export.ROOT, "Tests", "Fixtures", "llamacpp-export", "llava-next.json")
NAME = os.path.basename(MODEL)
# The SentencePiece model the tiny tokenizer.json was made from (make_llava_next_fixtures.py): the model
# folder has only tokenizer.json, which neither converter reads as a SentencePiece vocabulary.
SENTENCEPIECE = os.path.join(export.ROOT, "Tests", "Fixtures", "tokenizer", "tokenizer.model")
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "generation_config.json"]


def main():
    work = tempfile.mkdtemp(prefix="llamacpp-next-")
    try:
        outputs = {}
        with open(os.path.join(MODEL, "config.json")) as f:
            config = json.load(f)
        with open(os.path.join(MODEL, "processor_config.json")) as f:
            pre = json.load(f)["image_processor"]

        # Text: the language model alone, with the model's own tokenizer files.
        lm = os.path.join(work, "lm", NAME)
        model = LlavaNextForConditionalGeneration.from_pretrained(MODEL).eval()
        decoder = LlamaForCausalLM(model.config.text_config).eval()
        decoder.model.load_state_dict(model.model.language_model.state_dict())
        decoder.lm_head.load_state_dict(model.lm_head.state_dict())
        decoder.save_pretrained(lm)
        for name in TOKENIZER_FILES:
            if os.path.exists(os.path.join(MODEL, name)):
                shutil.copyfile(os.path.join(MODEL, name), os.path.join(lm, name))
        shutil.copyfile(SENTENCEPIECE, os.path.join(lm, "tokenizer.model"))
        for outtype in ("f32", "f16", "q8_0"):
            path = os.path.join(work, f"text-{outtype}.gguf")
            export.run([os.path.join(export.LLAMA, "convert_hf_to_gguf.py"), lm, "--outfile", path, "--outtype", outtype])
            outputs[f"text-{outtype}"] = export.describe(path)

        # mmproj: llava_surgery_v2's llava.projector from a copy of the model.
        copy = os.path.join(work, "model")
        shutil.copytree(MODEL, copy)
        export.run([os.path.join(export.LLAMA, "tools", "mtmd", "legacy-models", "llava_surgery_v2.py"), "-m", copy])
        vit = os.path.join(work, "tower", NAME)
        os.makedirs(vit)
        shutil.copyfile(os.path.join(copy, "llava.projector"), os.path.join(vit, "llava.projector"))
        vision = dict(config["vision_config"], image_grid_pinpoints=config["image_grid_pinpoints"],
                      image_aspect_ratio="anyres", mm_patch_merge_type="spatial_unpad")
        outputs.update(export.legacy_mmprojs(vit, pre, work, export.tower_folder(MODEL, vit, vision)))

        document = {
            "schema": 1,
            "source": "Tests/Fixtures/llava-next/tiny-llava-next-hf",
            "made_by": {
                "llama.cpp": "vendored by llama-cpp-python 0.3.36 (sdist on PyPI)",
                "text": "the language model as a LlamaForCausalLM folder with Tests/Fixtures/tokenizer/tokenizer.model, convert_hf_to_gguf.py --outtype {f32,f16,q8_0}",
                "mmproj": "llava_surgery_v2.py, then tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py --clip-model-is-vision [--use-f32]"
                          " (config: vision config + image_grid_pinpoints, image_aspect_ratio anyres, mm_patch_merge_type spatial_unpad)",
                "script": "tools/make_llamacpp_next_fixtures.py",
            },
            "outputs": outputs,
        }
        with open(OUT, "w") as f:
            f.write(export.serialize(document))
        print(f"wrote {OUT}: {len(outputs)} outputs")
    finally:
        shutil.rmtree(work, ignore_errors=True)


torch.set_grad_enabled(False)

if __name__ == "__main__":
    main()
