#!/usr/bin/env python3
"""Writes Tests/Fixtures/qwen2vl/<model>/commands.json: what `eah-convert calibrate`, `patch` and
`eah-run` must give on the tiny Qwen2-VL and Qwen2.5-VL models of make_qwen2vl_fixtures.py, from
transformers with the PyTorch EAH reference attention of make_eah_fixtures.py ("eah_reference").

Run: /work/main/.venv/bin/python tools/make_qwen2vl_command_fixtures.py   (after
make_qwen2vl_fixtures.py; reads the saved hf-save folders, writes only commands.json).

Calibration: the four images of facts.json with their questions, in that order, as a JSONL would
list them; layers [0, 1]; selection "count" (no broadcast), beta chosen so every counted column
mean of every sample is at least MIN_MARGIN away. Per sample: image tokens (the <|image_pad|>
positions of its own resolution) and sink counts [layer][head]. The chosen head of a layer is the
one that wins most samples (densest head, ties to the lower index; no winner when all counts are
0), ties between heads broken by the larger summed count, then the lower index.

Static EAH with the chosen heads (phase prefill, `patch --report`'s default) then answers each
sample's question: greedy, 5 new tokens, eos_token_id=None (eah-run stops at <|im_end|>, so the
test compares up to and including the first stop token). Dynamic EAH (phase all) at the same
layers and beta gives `dynamic_generated`.
"""

import json
import os
import sys

import torch
from transformers import PreTrainedTokenizerFast, Qwen2_5_VLForConditionalGeneration, Qwen2VLForConditionalGeneration

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_eah_fixtures as eahref  # noqa: E402  (registers the "eah_reference" attention)
import make_qwen2vl_fixtures as qref  # noqa: E402

LAYERS = [0, 1]
MIN_MARGIN = 1e-4
torch.set_grad_enabled(False)


def chosen_heads(samples):
    heads = len(samples[0]["sink_counts"][0])
    chosen = []
    for index in range(len(LAYERS)):
        wins, sums = [0] * heads, [0] * heads
        for s in samples:
            counts = s["sink_counts"][index]
            w = eahref.densest(counts)
            if w >= 0:
                wins[w] += 1
            for h in range(heads):
                sums[h] += counts[h]
        chosen.append(-1 if max(wins) == 0 else sorted(range(heads), key=lambda h: (-wins[h], -sums[h], h))[0])
    return chosen


def main():
    E = eahref.EAH
    for kind, cls in (("qwen2vl", Qwen2VLForConditionalGeneration), ("qwen25vl", Qwen2_5_VLForConditionalGeneration)):
        out = os.path.join(qref.ROOT, kind)
        folder = os.path.join(out, "hf-save")
        tok = PreTrainedTokenizerFast.from_pretrained(folder)
        processor = qref.processor_for(tok)
        image_id = tok.convert_tokens_to_ids("<|image_pad|>")
        model = cls.from_pretrained(folder, attn_implementation={"text_config": "eah_reference", "vision_config": "eager"},
                                    dtype=torch.float32).eval()
        batches = [qref.inputs(processor, k)[1] for k in range(len(qref.IMAGE_FILES))]
        positions = [[i for i, t in enumerate(b["input_ids"][0].tolist()) if t == image_id] for b in batches]

        def count(beta):
            samples, worst = [], float("inf")
            for k, batch in enumerate(batches):
                E.configure(layers=LAYERS, selection="count", beta=beta)
                E.image_positions = positions[k]
                qref.reference(model, batch)
                worst = min(worst, eahref.margin(LAYERS))
                samples.append(dict(image=qref.IMAGE_FILES[k], prompt=qref.QUESTIONS[k], image_tokens=len(positions[k]),
                                    sink_counts=[E.counts[l] for l in LAYERS]))
            return samples, worst

        with open(os.path.join(out, "eah.json")) as f:
            candidates = [json.load(f)["cases"][0]["beta"]]
        E.image_positions = positions[0]
        candidates += qref.beta_candidates(model, batches[0])
        for beta in candidates:
            samples, worst = count(beta)
            if worst > MIN_MARGIN and any(sum(map(sum, s["sink_counts"])) for s in samples):
                break
        else:
            raise AssertionError("no beta keeps every sample's column means away from it")
        heads = chosen_heads(samples)
        assert all(h >= 0 for h in heads), f"a layer has no chosen head: {heads}"
        for k, sample in enumerate(samples):
            E.image_positions = positions[k]
            E.configure(layers=LAYERS, selection="static", static_heads=heads, beta=beta, phase="prefill")
            sample["static_generated"] = qref.reference(model, batches[k])[1].tolist()
            E.configure(layers=LAYERS, selection="dynamic", beta=beta, phase="all")
            sample["dynamic_generated"] = qref.reference(model, batches[k])[1].tolist()
        E.configure()
        doc = {"layers": LAYERS, "beta": beta, "beta_margin": worst, "chosen_heads": heads, "stop_token": tok.convert_tokens_to_ids("<|im_end|>"),
               "new_tokens": qref.NEW_TOKENS, "samples": samples}
        with open(os.path.join(out, "commands.json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print(f"{kind}: beta {beta} (margin {worst:.5f}) chosen {heads}; "
              + "; ".join(f"{s['image']} {s['image_tokens']} tokens {s['sink_counts']} -> {s['static_generated']}" for s in samples))


if __name__ == "__main__":
    main()
