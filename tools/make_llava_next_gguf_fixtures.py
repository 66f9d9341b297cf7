#!/usr/bin/env python3
"""LLaVA-NeXT as llama.cpp reads it (Tests/Fixtures/llava-next-gguf/), from the tiny llava-hf model of
make_llava_next_fixtures.py, by llama.cpp's own converters and checked by llama.cpp's own runtime.

text-f32.gguf     the decoder: LlavaNextForConditionalGeneration's language model exported as a
                  LlamaForCausalLM folder with its tokenizer (llama.cpp's docs/multimodal/llava.md, LLaVA 1.6,
                  "export only the LLM"), then convert_hf_to_gguf.py --outtype f32.
mmproj-f32.gguf   the tower and projector: llava_surgery_v2's projector file (projector and image_newline),
                  the CLIP tower as a CLIPVisionModel folder whose config.json carries the NeXT keys
                  (image_grid_pinpoints, image_aspect_ratio anyres, mm_patch_merge_type spatial_unpad) as
                  llama.cpp's docs do with config_vit.json, then, under transformers 4.57.1
                  (tools/requirements-legacy-mmproj.txt), tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py
                  --clip-model-is-vision --use-f32 (the patch convolution and the projector matrices are F16
                  whatever the flag).
expected.json     per image (the llava-next fixture PNGs), what llama-mtmd-cli (greedy, vicuna template, verbose log) did:
                  the prompt it formatted (its media marker written <image>), the slices it cut, the prompt positions it
                  evaluated ("prompt eval ... N tokens": text tokens plus image positions); and our image token count.
<image>.safetensors  the transformers reference on llama.cpp's image layout (tools/mtmd/mtmd-image.cpp llava_uhd
                  with pinpoints; mtmd.cpp adds the overview after the slices for the MLP projector, ov_img_first
                  false): an image no larger than a tile on both sides is the overview alone; otherwise the best
                  pinpoint's slices (Pillow bicubic resize keeping the aspect, ceil, black centred padding) row-major,
                  then the overview (the whole image squashed to the tile by Pillow bicubic); each normalised with the
                  mmproj's mean/std; no unpad, no image_newline. pixel_values F32 [tiles, 3, 42, 42] in that order;
                  input_ids I64 (llama-tokenize's ids of the text before and after the marker, -200 between);
                  logits F32 [seq + 4, vocab] (prompt rows, then one row per greedy step) of transformers 5.24 eager:
                  each tile through the tower (hidden state -2, class token dropped, as LLaVA trains it) and the
                  projector, features in the layout's order as inputs_embeds of the language model; generated I64 [5].
                  eah_static_logits / eah_static_generated: the same with the PyTorch EAH reference (make_eah_fixtures.py),
                  static head STATIC_HEAD at layer LAYER, prefill and decode (what a baked bundle computes).
                  The references' patch-embedding and projector matrices are rounded to F16, as the mmproj stores them.

Why the tokens are not llama-mtmd-cli's answer: this llama.cpp's CLIP graph (tools/mtmd/models/llava.cpp) appends the
class embedding after the patches (so the position embeddings land one place off), keeps rows 1..n, and runs one layer
fewer than the legacy mmproj stores (il_last = n_layer - 1, on top of the converter's dropped last layer); the projector
uses ggml's tanh GELU. `llamacpp_tower` emulates that, and its overview features must equal the embeddings llama.cpp
dumps for the last chunk it encodes (MTMD_DEBUG_EMBEDDINGS; within 1e-2: Pillow and llama.cpp's bicubic differ by a
level on a few pixels): that checks the chunk order and the overview's pixels against llama.cpp itself. eah computes the
tower as transformers (and LLaVA) do, so its answers follow the model as trained, not that graph.
llama.cpp: the tree vendored by the pinned llama-cpp-python 0.3.36 sdist (convert_hf_to_gguf.py, the legacy mmproj
converter, its gguf-py) and its build (llama-tokenize, llama-mtmd-cli), both under ~/.cache/eah (tools/llama-cpp.sh).
Run: /work/main/.venv/bin/python tools/make_llava_next_gguf_fixtures.py [LLAMA_CPP_SOURCE [LLAMA_CPP_BIN]]
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from transformers import LlamaForCausalLM, LlavaNextForConditionalGeneration, PreTrainedTokenizerFast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_eah_fixtures as eah  # noqa: E402  (registers the "eah_reference" attention)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLAMA = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/eah/llama-cpp-python-0.3.36/vendor/llama.cpp")
BIN = sys.argv[2] if len(sys.argv) > 2 else os.path.expanduser("~/.cache/eah/llama-cpp-python-0.3.36/build/bin")
LEGACY = os.environ.get("EAH_LEGACY_MMPROJ_PY", os.path.expanduser("~/.cache/eah/legacy-mmproj-py"))
NEXT = os.path.join(ROOT, "Tests", "Fixtures", "llava-next")
MODEL = os.path.join(NEXT, "tiny-llava-next-hf")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "llava-next-gguf")
QUESTION = "What is in the picture?"
IMAGES = ["wide", "tall", "tiny", "large"]
NEW_TOKENS = 5
STATIC_HEAD, LAYER = 2, 1
MARKER = "<__media__>"
torch.set_grad_enabled(False)


def run(args, legacy=False, executable=None):
    if legacy and not os.path.isdir(os.path.join(LEGACY, "transformers")):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", LEGACY, "-r",
                        os.path.join(ROOT, "tools", "requirements-legacy-mmproj.txt")], check=True)
    path = [LEGACY] if legacy else []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path + [os.path.join(LLAMA, "gguf-py")]))
    command = [executable] + args if executable else [sys.executable] + args
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def f32(x):
    return np.float32(x)


def llamacpp_layout(width, height, tile, pinpoints):
    """mtmd_image_preprocessor_llava_uhd::get_slice_instructions with pinpoints (float32 as in C++):
    None when the image fits one tile, else (refined width, height) and the resized size inside it."""
    if width <= tile and height <= tile:
        return None
    best, best_effective, least_wasted = None, 0, None
    for cw, ch in pinpoints:  # clip_image_size{width, height} from the flat (w, h) pairs
        scale = min(f32(cw) / f32(width), f32(ch) / f32(height))
        tw, th = int(f32(width) * scale), int(f32(height) * scale)
        effective = min(tw * th, width * height)
        wasted = cw * ch - effective
        if effective > best_effective or (effective == best_effective and wasted < least_wasted):
            best, best_effective, least_wasted = (cw, ch), effective, wasted
    cw, ch = best
    scale = min(f32(cw) / f32(width), f32(ch) / f32(height))
    new_w = min(int(math.ceil(f32(width) * scale)), cw)
    new_h = min(int(math.ceil(f32(height) * scale)), ch)
    return best, (new_w, new_h)


def llamacpp_pixels(image, tile, pinpoints, mean, std):
    """The normalised tiles in llama.cpp's order: slices row-major, then the overview."""
    def normalise(img):
        x = np.asarray(img, dtype=np.float32) / f32(255)
        return ((x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)).transpose(2, 0, 1)
    overview = image.resize((tile, tile), Image.BICUBIC)
    layout = llamacpp_layout(image.width, image.height, tile, pinpoints)
    if layout is None:
        return np.stack([normalise(overview)]), 0
    (rw, rh), (nw, nh) = layout
    refined = Image.new("RGB", (rw, rh), (0, 0, 0))
    refined.paste(image.resize((nw, nh), Image.BICUBIC), ((rw - nw) // 2, (rh - nh) // 2))
    slices = [refined.crop((x, y, x + tile, y + tile)) for y in range(0, rh, tile) for x in range(0, rw, tile)]
    return np.stack([normalise(s) for s in slices] + [normalise(overview)]), len(slices)


def greedy(model, ids, features):
    """The language model on the prompt's embeddings (features at the -200 marker), then NEW_TOKENS greedy steps:
    logits [prompt + NEW_TOKENS - 1, vocab] and the generated ids."""
    at = ids.index(-200)
    embed = model.model.language_model.embed_tokens
    tokens = torch.tensor(ids[:at] + ids[at + 1:])
    embeds = torch.cat([embed(tokens[:at]), features, embed(tokens[at:])], 0)[None]
    out = model.model.language_model(inputs_embeds=embeds, use_cache=True)
    logits = [model.lm_head(out.last_hidden_state)[0]]
    cache, generated = out.past_key_values, []
    for _ in range(NEW_TOKENS):
        token = int(logits[-1][-1].argmax())
        generated.append(token)
        if len(generated) == NEW_TOKENS:
            break
        step = model.model.language_model(inputs_embeds=embed(torch.tensor([[token]])), past_key_values=cache, use_cache=True)
        cache = step.past_key_values
        logits.append(model.lm_head(step.last_hidden_state)[0])
    return torch.cat(logits, 0).float().contiguous(), generated


def tile_features(model, tile):
    """transformers' LLaVA features of one tile: hidden state -2, class token dropped, projector."""
    hidden = model.model.vision_tower(tile[None], output_hidden_states=True).hidden_states[-2][:, 1:]
    return model.model.multi_modal_projector(hidden)[0]


def llamacpp_tower(model, tile):
    """What this llama.cpp's clip graph (models/llava.cpp) computes for a legacy mmproj, emulated with the
    model's modules: the class embedding appended after the patches, positions 0..n in that order, the
    stored block_count (num_hidden_layers - 1) layers minus one more (il_last), rows 1..n kept, the
    projector with ggml's tanh GELU."""
    vt = model.model.vision_tower
    patches = vt.embeddings.patch_embedding(tile[None]).flatten(2).transpose(1, 2)
    sequence = torch.cat([patches, vt.embeddings.class_embedding[None, None]], 1) + vt.embeddings.position_embedding.weight[None]
    hidden = vt.pre_layrnorm(sequence)
    for layer in vt.encoder.layers[:len(vt.encoder.layers) - 2]:
        hidden = layer(hidden, None)
        hidden = hidden[0] if isinstance(hidden, tuple) else hidden
    projector = model.model.multi_modal_projector
    x = torch.nn.functional.gelu(projector.linear_1(hidden[:, 1:]), approximate="tanh")
    return projector.linear_2(x)[0].numpy()


def mtmd_run(text, mmproj, image, work):
    """llama-mtmd-cli (greedy, vicuna template, verbose) on one image: its log and the embeddings it dumped
    for the last image chunk it encoded (MTMD_DEBUG_EMBEDDINGS). Its logger is asynchronous and may lose
    the tail of the log at exit: rerun until the closing performance report is there."""
    dump = os.path.join(work, "embeddings.bin")
    for _ in range(10):
        result = subprocess.run([os.path.join(BIN, "llama-mtmd-cli"), "-m", text, "--mmproj", mmproj, "--image", image, "-p", QUESTION,
                                 "--temp", "0", "-n", str(NEW_TOKENS), "--chat-template", "vicuna", "-t", "2", "--no-warmup", "-v"],
                                capture_output=True, text=True, env=dict(os.environ, MTMD_DEBUG_EMBEDDINGS=dump))
        if result.returncode == 0 and "prompt eval time" in result.stderr:
            raw = np.fromfile(dump, dtype=np.int32)
            return result.stderr, raw[2:].view(np.float32).reshape(raw[0], raw[1])
    sys.exit("llama-mtmd-cli never finished its log:\n" + result.stderr[-3000:])


def main():
    os.makedirs(OUT, exist_ok=True)
    work = tempfile.mkdtemp(prefix="llava-next-gguf-")
    try:
        config = json.load(open(os.path.join(MODEL, "config.json")))
        pre = json.load(open(os.path.join(MODEL, "processor_config.json")))["image_processor"]
        tile = config["vision_config"]["image_size"]
        pinpoints = [tuple(p) for p in config["image_grid_pinpoints"]]
        model = LlavaNextForConditionalGeneration.from_pretrained(MODEL, attn_implementation="eager").eval()

        # Text: the language model alone, with the tokenizer, through convert_hf_to_gguf.
        lm_folder = os.path.join(work, "lm")
        lm = LlamaForCausalLM(model.config.text_config).eval()
        lm.model.load_state_dict(model.model.language_model.state_dict())
        lm.lm_head.load_state_dict(model.lm_head.state_dict())
        lm.save_pretrained(lm_folder)
        PreTrainedTokenizerFast.from_pretrained(MODEL).save_pretrained(lm_folder)
        text = os.path.join(OUT, "text-f32.gguf")
        run([os.path.join(LLAMA, "convert_hf_to_gguf.py"), lm_folder, "--outfile", text, "--outtype", "f32"])

        # mmproj: surgery's projector file and the tower folder with the NeXT keys.
        vit = os.path.join(work, "vit")
        os.makedirs(vit)
        state = model.state_dict()
        projector = {"model.mm_projector.0.weight": state["model.multi_modal_projector.linear_1.weight"],
                     "model.mm_projector.0.bias": state["model.multi_modal_projector.linear_1.bias"],
                     "model.mm_projector.2.weight": state["model.multi_modal_projector.linear_2.weight"],
                     "model.mm_projector.2.bias": state["model.multi_modal_projector.linear_2.bias"],
                     "model.image_newline": state["model.image_newline"]}
        torch.save({k: v.float().contiguous() for k, v in projector.items()}, os.path.join(vit, "llava.projector"))
        tower = {"vision_model." + k[len("model.vision_tower."):]: v.contiguous()
                 for k, v in state.items() if k.startswith("model.vision_tower.")}
        save_file(tower, os.path.join(vit, "model.safetensors"), metadata={"format": "pt"})
        vision = dict(config["vision_config"], architectures=["CLIPVisionModel"], image_grid_pinpoints=config["image_grid_pinpoints"],
                      image_aspect_ratio="anyres", mm_patch_merge_type="spatial_unpad")
        json.dump(vision, open(os.path.join(vit, "config.json"), "w"))
        run([os.path.join(LLAMA, "tools", "mtmd", "legacy-models", "convert_image_encoder_to_gguf.py"), "-m", vit,
             "--llava-projector", os.path.join(vit, "llava.projector"), "--output-dir", vit, "--clip-model-is-vision", "--use-f32",
             "--image-mean", *map(str, pre["image_mean"]), "--image-std", *map(str, pre["image_std"])], legacy=True)
        mmproj = os.path.join(OUT, "mmproj-f32.gguf")
        shutil.copyfile(os.path.join(vit, "mmproj-model-f32.gguf"), mmproj)

        # The references: the mmproj's F16 matrices (and the EAH reference attention in the decoder).
        reference = LlavaNextForConditionalGeneration.from_pretrained(
            MODEL, attn_implementation={"text_config": "eah_reference", "vision_config": "eager"}).eval()
        for name in ["model.vision_tower.embeddings.patch_embedding.weight", "model.multi_modal_projector.linear_1.weight",
                     "model.multi_modal_projector.linear_2.weight"]:
            for m in (model, reference):
                parameter = dict(m.named_parameters())[name]
                parameter.copy_(parameter.half().float())

        def tokenize(segment, bos):
            result = run(["-m", text, "-p", segment, "--ids", "--log-disable"] + ([] if bos else ["--no-bos"]),
                         executable=os.path.join(BIN, "llama-tokenize"))
            return [int(x) for x in re.findall(r"-?\d+", result.stdout.strip().splitlines()[-1])]

        facts = []
        for name in IMAGES:
            path = os.path.join(NEXT, name + ".png")
            image = Image.open(path).convert("RGB")
            log, dump = mtmd_run(text, mmproj, path, work)
            formatted = re.search(r"formatted_chat\.prompt: (.*?)\n\d+\.\d+\.\d+\.\d+ ", log, re.S).group(1)
            assert formatted.count(MARKER) == 1, formatted
            before, after = formatted.split(MARKER)
            slices = re.search(r"adding (\d+) slices \((\d+) rows x (\d+) cols\)", log)
            prompt_tokens = int(re.search(r"prompt eval time =.*?/\s*(\d+) tokens", log).group(1))
            pixels, slice_count = llamacpp_pixels(image, tile, pinpoints, pre["image_mean"], pre["image_std"])
            assert (int(slices.group(1)) if slices else 0) == slice_count, (name, slices and slices.group(0), slice_count)

            ids = tokenize(before, True) + [-200] + tokenize(after, False)
            tiles = torch.from_numpy(pixels)
            features = torch.cat([tile_features(model, t) for t in tiles], 0)
            assert prompt_tokens == len(ids) - 1 + features.shape[0], (name, prompt_tokens, len(ids), features.shape)
            # llama.cpp encodes the chunks in order and its debug dump keeps the last: the overview.
            overview_difference = float(np.abs(llamacpp_tower(model, tiles[-1]) - dump).max())
            assert overview_difference < 1e-2, (name, overview_difference)

            at = ids.index(-200)
            logits, generated = greedy(model, ids, features)
            eah.EAH.configure(layers=[LAYER], selection="static", static_heads=[STATIC_HEAD], beta=0.002, phase="all")
            eah.EAH.image_positions = list(range(at, at + features.shape[0]))
            static_logits, static_generated = greedy(reference, ids, features)
            save_file({"pixel_values": tiles.float().contiguous(), "input_ids": torch.tensor(ids, dtype=torch.int64),
                       "logits": logits, "generated": torch.tensor(generated, dtype=torch.int64),
                       "eah_static_logits": static_logits, "eah_static_generated": torch.tensor(static_generated, dtype=torch.int64)},
                      os.path.join(OUT, name + ".safetensors"))
            facts.append({"name": name, "size": [image.width, image.height], "slices": slice_count, "tiles": len(pixels),
                          "image_token_count": int(features.shape[0]), "llama_cpp_prompt_tokens": prompt_tokens,
                          "prompt": before + "<image>" + after, "llama_cpp_overview_max_difference": overview_difference})
            print(name, facts[-1])
        json.dump({"schema": 1, "made_by": "tools/make_llava_next_gguf_fixtures.py", "question": QUESTION, "images": facts},
                  open(os.path.join(OUT, "expected.json"), "w"), indent=1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
