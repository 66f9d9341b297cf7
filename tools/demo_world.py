#!/usr/bin/env python3
"""Deterministic synthetic "demo world" for the EAH toolchain.

Scenes: 2-5 coloured shapes (one per slot: left/right/top/bottom/center) on a
solid, gradient or lightly noisy background, rendered at 4x and box-downsampled
to IMAGE_SIZE x IMAGE_SIZE. Every scene is annotated with its objects
({shape, colour, size, position, bbox}) and gets a templated English caption
that mentions every object (object word = shape name, colours/sizes are
attributes). Hallucination = naming a shape that is not in the image.

Usage (regenerates the committed part of data/demo/):
    python tools/demo_world.py --out data/demo
Training scenes are generated on the fly by tools/train_demo_model.py via
`make_split("train", n)` (seeded, never written to disk).
"""
import argparse
import json
import math
import os
import random

import numpy as np
from PIL import Image, ImageDraw

IMAGE_SIZE = 56
SCALE = 4  # supersampling factor for anti-aliasing

SHAPES = ["circle", "square", "triangle", "star", "ring", "cross", "diamond"]
PLURALS = {s: s + "s" for s in SHAPES}
PLURALS["cross"] = "crosses"
COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (30, 70, 230),
    "yellow": (245, 220, 20),
    "purple": (140, 40, 180),
    "orange": (250, 140, 10),
    "white": (250, 250, 250),
    "black": (10, 10, 10),
}
BACKGROUNDS = {
    "gray": (128, 128, 128),
    "beige": (215, 200, 160),
    "teal": (40, 125, 125),
    "pink": (235, 165, 195),
    "brown": (115, 75, 45),
}
POSITIONS = ["top", "left", "center", "right", "bottom"]  # also caption order
SLOT_CENTRES = {
    "top": (0.5, 0.2),
    "left": (0.2, 0.5),
    "center": (0.5, 0.5),
    "right": (0.8, 0.5),
    "bottom": (0.5, 0.8),
}
SIZE_RADIUS = {"small": (0.085, 0.10), "large": (0.14, 0.16)}  # fraction of image
POS_PHRASE = {
    "top": "at the top",
    "bottom": "at the bottom",
    "left": "on the left",
    "right": "on the right",
    "center": "in the center",
}
SPLIT_SEEDS = {"train": 1000, "eval": 2000, "calibration": 3000}

# CHAIR-style synonym list: canonical object word first, then synonyms.
SYNONYMS = {
    "circle": ["circle", "circles", "disc", "discs", "disk", "dot", "dots", "ball", "balls"],
    "square": ["square", "squares", "box", "boxes", "rectangle", "rectangles", "block", "blocks"],
    "triangle": ["triangle", "triangles", "pyramid", "pyramids"],
    "star": ["star", "stars"],
    "ring": ["ring", "rings", "donut", "donuts", "annulus", "hoop", "hoops"],
    "cross": ["cross", "crosses", "plus", "plus sign", "plus signs"],
    "diamond": ["diamond", "diamonds", "rhombus", "rhombuses", "lozenge", "lozenges"],
}

PROMPT_CAPTION = "Describe the image."
PROMPT_QA = "Is there a {} in the image? Answer yes or no."
CAPTION_PROMPTS = [PROMPT_CAPTION]


def _contrast(a, b):
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


def sample_scene(rng):
    """Return a scene dict (no pixels) drawn from rng."""
    bg_name = rng.choice(list(BACKGROUNDS))
    bg_style = rng.choice(["solid", "gradient", "noise"])
    n = rng.randint(2, 5)
    slots = rng.sample(POSITIONS, n)
    objects = []
    for pos in slots:
        shape = rng.choice(SHAPES)
        while True:
            colour = rng.choice(list(COLOURS))
            if _contrast(COLOURS[colour], BACKGROUNDS[bg_name]) > 110:
                break
        size = rng.choice(["small", "large"])
        lo, hi = SIZE_RADIUS[size]
        r = rng.uniform(lo, hi) * IMAGE_SIZE
        cx, cy = SLOT_CENTRES[pos]
        jit = 0.03 * IMAGE_SIZE
        cx = cx * IMAGE_SIZE + rng.uniform(-jit, jit)
        cy = cy * IMAGE_SIZE + rng.uniform(-jit, jit)
        rot = rng.uniform(-0.25, 0.25)
        objects.append({"shape": shape, "colour": colour, "size": size, "position": pos,
                        "cx": cx, "cy": cy, "r": r, "rot": rot})
    objects.sort(key=lambda o: POSITIONS.index(o["position"]))
    return {"background": bg_name, "background_style": bg_style,
            "grad_dir": rng.choice(["h", "v"]), "noise_seed": rng.randrange(1 << 30),
            "objects": objects}


def _polygon(shape, cx, cy, r, rot):
    def pts(angles_radii):
        return [(cx + rr * math.cos(a + rot), cy + rr * math.sin(a + rot)) for a, rr in angles_radii]
    if shape == "square":
        return pts([(math.pi / 4 + k * math.pi / 2, r) for k in range(4)])
    if shape == "diamond":
        return pts([(k * math.pi / 2, r if k % 2 else r * 0.7) for k in range(4)])
    if shape == "triangle":
        return pts([(-math.pi / 2 + k * 2 * math.pi / 3, r) for k in range(3)])
    if shape == "star":
        return pts([(-math.pi / 2 + k * math.pi / 5, r if k % 2 == 0 else r * 0.45) for k in range(10)])
    if shape == "cross":
        w = r * 0.36
        p = [(-w, -r), (w, -r), (w, -w), (r, -w), (r, w), (w, w), (w, r), (-w, r), (-w, w), (-r, w), (-r, -w), (-w, -w)]
        c, s = math.cos(rot), math.sin(rot)
        return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in p]
    raise ValueError(shape)


def render(scene):
    S = IMAGE_SIZE * SCALE
    bg = np.array(BACKGROUNDS[scene["background"]], dtype=np.float32)
    img = np.broadcast_to(bg, (S, S, 3)).copy()
    if scene["background_style"] == "gradient":
        t = np.linspace(-45, 45, S, dtype=np.float32)
        g = t[None, :, None] if scene["grad_dir"] == "h" else t[:, None, None]
        img = img + g
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    for o in scene["objects"]:
        cx, cy, r = o["cx"] * SCALE, o["cy"] * SCALE, o["r"] * SCALE
        col = COLOURS[o["colour"]]
        if o["shape"] == "circle":
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=col)
        elif o["shape"] == "ring":
            d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=col, width=max(1, int(r * 0.38)))
        else:
            d.polygon(_polygon(o["shape"], cx, cy, r, o["rot"]), fill=col)
    im = im.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BOX)
    if scene["background_style"] == "noise":
        nrng = np.random.default_rng(scene["noise_seed"])
        a = np.asarray(im).astype(np.float32) + nrng.normal(0, 10, (IMAGE_SIZE, IMAGE_SIZE, 3))
        im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return im


def bbox(o):
    x0 = max(0.0, o["cx"] - o["r"]); y0 = max(0.0, o["cy"] - o["r"])
    x1 = min(IMAGE_SIZE, o["cx"] + o["r"]); y1 = min(IMAGE_SIZE, o["cy"] + o["r"])
    return [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)]


def object_phrase(o, rng):
    words = ["a"]
    if rng.random() < 0.5:
        words.append(o["size"])
    words += [o["colour"], o["shape"]]
    if rng.random() < 0.25:
        words.append(POS_PHRASE[o["position"]])
    return " ".join(words)


def join_list(items):
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def caption(scene, rng):
    lst = join_list([object_phrase(o, rng) for o in scene["objects"]])
    bg = scene["background"]
    t = rng.randrange(4)
    if t == 0:
        return f"{lst} on a {bg} background."
    if t == 1:
        return f"there is {lst} on a {bg} background."
    if t == 2:
        return f"a {bg} background with {lst}."
    return f"an image of {lst} on a {bg} background."


def qa_pair(scene, rng):
    """Balanced yes/no question about one shape."""
    present = sorted({o["shape"] for o in scene["objects"]})
    absent = [s for s in SHAPES if s not in present]
    if rng.random() < 0.5 or not absent:
        return PROMPT_QA.format(rng.choice(present)), "yes"
    return PROMPT_QA.format(rng.choice(absent)), "no"


def make_split(split, n):
    """Yield (index, scene, caption) deterministically for a split."""
    rng = random.Random(SPLIT_SEEDS[split])
    for i in range(n):
        sc = sample_scene(rng)
        yield i, sc, caption(sc, rng)


def public_objects(scene):
    return [{"shape": o["shape"], "colour": o["colour"], "size": o["size"],
             "position": o["position"], "bbox": bbox(o)} for o in scene["objects"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="data/demo")
    ap.add_argument("--n-eval", type=int, default=150)
    ap.add_argument("--n-calibration", type=int, default=24)
    args = ap.parse_args()
    out = args.out
    os.makedirs(os.path.join(out, "eval"), exist_ok=True)
    os.makedirs(os.path.join(out, "calibration"), exist_ok=True)
    categories = [{"id": i + 1, "name": s, "supercategory": "shape"} for i, s in enumerate(SHAPES)]
    coco = {"info": {"description": "eah demo world held-out eval split",
                     "image_size": IMAGE_SIZE, "generator": "tools/demo_world.py",
                     "seed": SPLIT_SEEDS["eval"]},
            "images": [], "annotations": [], "categories": categories}
    pope = []
    qrng = random.Random(4000)
    with open(os.path.join(out, "eval", "captions.jsonl"), "w") as cap_f:
        for i, sc, cap in make_split("eval", args.n_eval):
            fn = f"eval_{i:04d}.png"
            render(sc).save(os.path.join(out, "eval", fn), optimize=True)
            coco["images"].append({"id": i + 1, "file_name": fn, "width": IMAGE_SIZE, "height": IMAGE_SIZE,
                                   "background": sc["background"], "background_style": sc["background_style"],
                                   "caption": cap})
            for o in public_objects(sc):
                coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": i + 1,
                                            "category_id": SHAPES.index(o["shape"]) + 1,
                                            "bbox": o["bbox"], "area": round(o["bbox"][2] * o["bbox"][3], 2),
                                            "iscrowd": 0, "colour": o["colour"], "size": o["size"],
                                            "position": o["position"]})
            cap_f.write(json.dumps({"image": f"eval/{fn}", "caption": cap,
                                    "objects": public_objects(sc)}) + "\n")
            present = sorted({o["shape"] for o in sc["objects"]})
            absent = [s for s in SHAPES if s not in present]
            for label, pool in (("yes", present), ("no", absent)):
                if pool:
                    s = qrng.choice(pool)
                    pope.append({"image": f"eval/{fn}", "question": PROMPT_QA.format(s),
                                 "object": s, "label": label})
    with open(os.path.join(out, "eval", "annotations.json"), "w") as f:
        json.dump(coco, f, indent=1)
    with open(os.path.join(out, "eval", "pope.jsonl"), "w") as f:
        for p in pope:
            f.write(json.dumps(p) + "\n")
    with open(os.path.join(out, "calibration.jsonl"), "w") as f:
        for i, sc, cap in make_split("calibration", args.n_calibration):
            fn = f"calib_{i:03d}.png"
            render(sc).save(os.path.join(out, "calibration", fn), optimize=True)
            f.write(json.dumps({"image": f"calibration/{fn}", "prompt": PROMPT_CAPTION}) + "\n")
    with open(os.path.join(out, "synonyms.txt"), "w") as f:
        for k, v in SYNONYMS.items():
            f.write(", ".join(v) + "\n")
    print(f"wrote {args.n_eval} eval + {args.n_calibration} calibration images to {out}")


if __name__ == "__main__":
    main()
