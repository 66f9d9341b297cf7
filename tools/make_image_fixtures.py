#!/usr/bin/env python3
"""Writes the image front-end fixtures under Tests/Fixtures/images with Pillow and transformers.

Run with the pinned reference environment (tools/requirements.txt):

    /work/venv/bin/python tools/make_image_fixtures.py

Everything is seeded, so re-running produces identical bytes. Outputs:

  valid/*.jpg, valid/*.png   small images of odd sizes (smooth gradients + noise + edges):
                             JPEG baseline/progressive, 4:2:0/4:2:2/4:4:4, grey, CMYK, EXIF
                             orientations 2-8; PNG RGB, RGBA, grey, grey+alpha, palette (8- and
                             4-bit, with tRNS), grey with tRNS, 1/2/4/16-bit grey, 16-bit RGB and
                             grey+alpha, Adam7 interlaced, eXIf orientation. PNGs Pillow cannot
                             write are written by `write_png` below (zlib, filter 0).
  invalid/*                  empty, truncated, corrupt, unsupported (GIF, WebP, BMP) and absurdly
                             sized files; invalid/expected.json names the ImageProblem case each
                             must raise.
  decoded.safetensors        per valid image (tensor name = file name): U8 [H, W, 3], what
                             `ImageOps.exif_transpose(Image.open(f)).convert("RGB")` gives.
  configs/*/preprocessor_config.json
                             llava (llava-hf's CLIP ViT-L/14-336 file), small (24, bicubic) and
                             odd (shortest edge 14, crop 12x18 so portrait images are
                             zero-padded, bilinear).
  pixel_values_small.safetensors, pixel_values_odd.safetensors
                             per valid image and mode: F32 [3, H, W] from transformers'
                             Pillow-based processor (AutoImageProcessor(use_fast=False) =
                             CLIPImageProcessorPil), named "<file>|crop" and "<file>|pad". Pad
                             mode is LLaVA's expand2square with tuple(int(x*255) for x in
                             image_mean), then the processor. The processor gets the RGB image
                             above (as transformers' load_image and LLaVA's loader give it).
  pixel_values_llava.safetensors
                             for two images with the 336 config: U8 [3, 336, 336] from which
                             the processor's float32 output is recovered exactly through the
                             per-channel table `lut` (F32 [3, 256], also stored); the script
                             asserts the round trip is exact. (F32 would be 1.35 MB each.)
"""

import io
import json
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from safetensors.numpy import save_file
from transformers import AutoImageProcessor

ROOT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "images"
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]


def base_config(**overrides):
    config = {
        "crop_size": {"height": 336, "width": 336},
        "do_center_crop": True,
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": MEAN,
        "image_processor_type": "CLIPImageProcessor",
        "image_std": STD,
        "processor_class": "LlavaProcessor",
        "resample": 3,
        "rescale_factor": 0.00392156862745098,
        "size": {"shortest_edge": 336},
    }
    config.update(overrides)
    return config


CONFIGS = {
    "llava": base_config(),
    "small": base_config(size={"shortest_edge": 24}, crop_size={"height": 24, "width": 24}),
    "odd": base_config(size={"shortest_edge": 14}, crop_size={"height": 12, "width": 18}, resample=2),
}


def picture(width, height, seed):
    """Smooth gradients, a few hard edges and noise, uint8 [H, W, 3]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u = x / max(width - 1, 1)
    v = y / max(height - 1, 1)
    r = 255 * (0.5 + 0.5 * np.sin(6.0 * u + 2.0 * v + seed))
    g = 255 * v
    b = 255 * (1 - u) * (0.5 + 0.5 * np.cos(9.0 * v))
    image = np.stack([r, g, b], axis=-1)
    # hard edges: a box and a diagonal stripe
    box = (u > 0.3) & (u < 0.6) & (v > 0.2) & (v < 0.55)
    image[box] = [250, 20, 30]
    stripe = np.abs(u - v) < 0.05
    image[stripe] = [10, 10, 240]
    image += rng.normal(0, 12, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def alpha_plane(width, height, seed):
    rng = np.random.default_rng(seed + 1000)
    y, x = np.mgrid[0:height, 0:width]
    a = (x * 255 // max(width - 1, 1)) ^ (y * 7 % 256)
    return np.clip(a + rng.integers(-5, 6, a.shape), 0, 255).astype(np.uint8)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_rows(samples, bit_depth):
    """samples: [H, W, C] integers -> list of raw row bytes (without the filter byte)."""
    h, w, c = samples.shape
    rows = []
    for row in samples:
        if bit_depth == 16:
            rows.append(row.astype(">u2").tobytes())
        elif bit_depth == 8:
            rows.append(row.astype(np.uint8).tobytes())
        else:
            flat = row.reshape(-1).astype(np.uint8)
            per = 8 // bit_depth
            padded = np.concatenate([flat, np.zeros((-len(flat)) % per, np.uint8)])
            packed = np.zeros(len(padded) // per, np.uint8)
            for i in range(per):
                packed |= (padded[i::per] << (8 - bit_depth * (i + 1))).astype(np.uint8)
            rows.append(packed.tobytes())
    return rows


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(samples, color_type, bit_depth, interlace=False, before_idat=b"", palette=None):
    """A PNG of `samples` ([H, W, C]) with filter 0, optionally Adam7-interlaced."""
    h, w, _ = samples.shape
    raw = b""
    if interlace:
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            raw += b"".join(b"\0" + r for r in pack_rows(sub, bit_depth))
    else:
        raw = b"".join(b"\0" + r for r in pack_rows(samples, bit_depth))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        out += chunk(b"PLTE", bytes(palette))
    out += before_idat + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    return out


def save(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def exif_bytes(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def valid_images():
    files = {}
    rgb = lambda w, h, s: Image.fromarray(picture(w, h, s), "RGB")
    # JPEG
    files["rgb_37x53_420.jpg"] = save(rgb(37, 53, 1), "JPEG", quality=90, subsampling=2)
    files["rgb_301x97_444.jpg"] = save(rgb(301, 97, 2), "JPEG", quality=92, subsampling=0)
    files["rgb_64x64_progressive.jpg"] = save(rgb(64, 64, 3), "JPEG", quality=85, progressive=True)
    files["rgb_500x20_422.jpg"] = save(rgb(500, 20, 4), "JPEG", quality=80, subsampling=1)
    files["rgb_1x1.jpg"] = save(rgb(1, 1, 5), "JPEG", quality=95)
    files["rgb_3x900_progressive_444.jpg"] = save(rgb(3, 900, 6), "JPEG", quality=75, progressive=True, subsampling=0)
    files["gray_53x41.jpg"] = save(rgb(53, 41, 7).convert("L"), "JPEG", quality=90)
    files["cmyk_45x31.jpg"] = save(rgb(45, 31, 8).convert("CMYK"), "JPEG", quality=90)
    for orientation in range(2, 9):
        files[f"exif{orientation}_45x31.jpg"] = save(rgb(45, 31, 9), "JPEG", quality=90, exif=exif_bytes(orientation))
    # PNG written by Pillow
    files["rgb_37x53.png"] = save(rgb(37, 53, 10), "PNG")
    rgba = np.dstack([picture(301, 97, 11), alpha_plane(301, 97, 11)])
    files["rgba_301x97.png"] = save(Image.fromarray(rgba, "RGBA"), "PNG")
    files["gray_64x64.png"] = save(rgb(64, 64, 12).convert("L"), "PNG")
    la = np.dstack([picture(500, 20, 13)[..., 0], alpha_plane(500, 20, 13)])
    files["graya_500x20.png"] = save(Image.fromarray(la, "LA"), "PNG")
    files["rgb_1x1.png"] = save(rgb(1, 1, 14), "PNG")
    files["rgb_3x900.png"] = save(rgb(3, 900, 15), "PNG")
    palette_image = rgb(33, 47, 16).quantize(colors=200, dither=Image.Dither.NONE)
    files["palette_33x47.png"] = save(palette_image, "PNG")
    trns = rgb(41, 29, 17).quantize(colors=16, dither=Image.Dither.NONE)
    files["palette4_trns_41x29.png"] = save(trns, "PNG", bits=4, transparency=3)
    files["gray16_29x31.png"] = save(Image.fromarray((picture(29, 31, 18)[..., 1].astype(np.uint16) * 3)), "PNG")
    files["bilevel_23x17.png"] = save(rgb(23, 17, 19).convert("1"), "PNG")
    files["exif6_37x21.png"] = save(rgb(37, 21, 20), "PNG", exif=exif_bytes(6))
    keyed = picture(19, 13, 21)
    keyed[2:6, 3:9] = (12, 34, 56)  # pixels of the colour key: transformers turns them white
    files["rgb_trns_19x13.png"] = save(Image.fromarray(keyed, "RGB"), "PNG", transparency=(12, 34, 56))
    square = rgb(16, 16, 26).quantize(colors=12, dither=Image.Dither.NONE)
    files["palette_trns_square_16x16.png"] = save(square, "PNG", transparency=5)
    alphas = bytes([255, 128, 0, 0] + [255] * 60)
    files["palette_alphas_21x17.png"] = save(rgb(21, 17, 27).quantize(colors=64, dither=Image.Dither.NONE), "PNG", transparency=alphas)
    # PNG written by hand (Pillow cannot write these)
    pic = picture(35, 27, 22)
    wide = pic.astype(np.uint16) * 257 + np.random.default_rng(22).integers(0, 256, pic.shape).astype(np.uint16)
    files["rgb16_35x27.png"] = write_png(wide, 2, 16)
    files["rgba16_interlaced_35x27.png"] = write_png(np.dstack([wide, wide[..., :1]]), 6, 16, interlace=True)
    files["graya16_35x27.png"] = write_png(np.dstack([wide[..., :1], wide[..., 1:2]]), 4, 16)
    files["rgb_interlaced_61x43.png"] = write_png(picture(61, 43, 23), 2, 8, interlace=True)
    files["gray_interlaced_5x3.png"] = write_png(picture(5, 3, 24)[..., :1], 0, 8, interlace=True)
    g = picture(31, 19, 25)[..., :1]
    files["gray4_31x19.png"] = write_png(g >> 4, 0, 4)
    files["gray2_interlaced_31x19.png"] = write_png(g >> 6, 0, 2, interlace=True)
    files["gray_trns_31x19.png"] = write_png(g, 0, 8, before_idat=chunk(b"tRNS", struct.pack(">H", 40)))
    return files


def invalid_images(valid):
    files, expected = {}, {}
    base = valid["rgb_301x97_444.jpg"]
    files["empty.jpg"] = b""
    expected["empty.jpg"] = "empty"
    files["truncated_half.jpg"] = base[: len(base) // 2]
    expected["truncated_half.jpg"] = "truncated"
    progressive = valid["rgb_64x64_progressive.jpg"]
    files["truncated_progressive.jpg"] = progressive[: len(progressive) * 2 // 3]
    expected["truncated_progressive.jpg"] = "truncated"
    files["header_only.jpg"] = base[:200]
    expected["header_only.jpg"] = "truncated"
    files["soi_only.jpg"] = b"\xff\xd8\xff"
    expected["soi_only.jpg"] = "truncated"
    corrupt = bytearray(base)
    # destroy the SOF0 marker: libjpeg then finds no frame header before the scan
    sof = corrupt.index(b"\xff\xc0")
    corrupt[sof + 1] = 0xCC
    files["no_frame.jpg"] = bytes(corrupt)
    expected["no_frame.jpg"] = "corrupt"
    png = valid["rgb_37x53.png"]
    files["truncated_idat.png"] = png[: len(png) // 2]
    expected["truncated_idat.png"] = "truncated"
    files["signature_only.png"] = png[:8]
    expected["signature_only.png"] = "truncated"
    bad_crc = bytearray(png)
    bad_crc[29] ^= 0xFF  # IHDR's CRC
    files["bad_ihdr_crc.png"] = bytes(bad_crc)
    expected["bad_ihdr_crc.png"] = "corrupt"
    bad_zlib = bytearray(png)
    idat = bad_zlib.index(b"IDAT") + 4
    bad_zlib[idat:idat + 2] = b"\x00\x00"  # not a zlib header
    bad_zlib = bytes(bad_zlib)
    bad_zlib = bad_zlib[: idat - 4] + b"IDAT" + bad_zlib[idat:]
    # fix the IDAT CRC so the failure is in the data, not the checksum
    length = struct.unpack(">I", bad_zlib[idat - 8: idat - 4])[0]
    body = bad_zlib[idat - 4: idat + length]
    bad_zlib = bad_zlib[: idat + length] + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF) + bad_zlib[idat + length + 4:]
    files["bad_zlib.png"] = bad_zlib
    expected["bad_zlib.png"] = "corrupt"
    files["huge_100000x100000.png"] = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    expected["huge_100000x100000.png"] = "tooLarge"
    sof_at = base.index(b"\xff\xc0")
    huge = bytearray(base)
    huge[sof_at + 5: sof_at + 9] = struct.pack(">HH", 65000, 65000)
    files["huge_65000x65000.jpg"] = bytes(huge)
    expected["huge_65000x65000.jpg"] = "tooLarge"
    small = Image.fromarray(picture(8, 8, 30), "RGB")
    files["image.gif"] = save(small, "GIF")
    expected["image.gif"] = "unsupportedFormat:GIF"
    files["image.webp"] = save(small, "WEBP")
    expected["image.webp"] = "unsupportedFormat:WebP"
    files["image.bmp"] = save(small, "BMP")
    expected["image.bmp"] = "unsupportedFormat:BMP"
    files["text.png"] = b"this is not an image\n"
    expected["text.png"] = "unknownFormat"
    # the reference refuses them as well (checked below)
    return files, expected


def main():
    if ROOT.exists():
        shutil.rmtree(ROOT)
    (ROOT / "valid").mkdir(parents=True)
    (ROOT / "invalid").mkdir()
    valid = valid_images()
    decoded = {}
    rgb_images = {}
    for name, data in sorted(valid.items()):
        (ROOT / "valid" / name).write_bytes(data)
        with Image.open(ROOT / "valid" / name) as im:
            im.load()
            rgb = ImageOps.exif_transpose(im).convert("RGB")
        rgb_images[name] = rgb
        decoded[name] = np.ascontiguousarray(np.array(rgb, dtype=np.uint8))
    save_file(decoded, str(ROOT / "decoded.safetensors"))

    invalid, expected = invalid_images(valid)
    for name, data in sorted(invalid.items()):
        (ROOT / "invalid" / name).write_bytes(data)
        if name.startswith("huge"):
            continue  # Pillow only warns (decompression bomb) before failing on the missing data
        try:
            with Image.open(ROOT / "invalid" / name) as im:
                im.load()
                ok = im.format in ("GIF", "WEBP", "BMP")
        except Exception:
            ok = True
        assert ok, f"Pillow decodes {name}, which the fixture expects to be refused"
    (ROOT / "invalid" / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")

    processors = {}
    for key, config in CONFIGS.items():
        folder = ROOT / "configs" / key
        folder.mkdir(parents=True)
        (folder / "preprocessor_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        processor = AutoImageProcessor.from_pretrained(str(folder), use_fast=False)
        assert type(processor).__name__ == "CLIPImageProcessorPil", type(processor)
        processors[key] = processor

    def run(processor, image, mode):
        if mode == "pad":
            color = tuple(int(x * 255) for x in processor.image_mean)
            w, h = image.size
            if w != h:
                side = max(w, h)
                square = Image.new(image.mode, (side, side), color)
                square.paste(image, ((side - w) // 2, (side - h) // 2))
                image = square
        out = processor(image, return_tensors="np")["pixel_values"][0]
        assert out.dtype == np.float32
        return np.ascontiguousarray(out)

    for key in ("small", "odd"):
        tensors = {}
        for name, image in sorted(rgb_images.items()):
            for mode in ("crop", "pad"):
                tensors[f"{name}|{mode}"] = run(processors[key], image, mode)
        save_file(tensors, str(ROOT / f"pixel_values_{key}.safetensors"))

    processor = processors["llava"]
    mean = np.array(processor.image_mean, np.float32)
    std = np.array(processor.image_std, np.float32)
    lut = ((np.arange(256, dtype=np.float64) * processor.rescale_factor).astype(np.float32)[None, :] - mean[:, None]) / std[:, None]
    lut = lut.astype(np.float32)
    tensors = {"lut": np.ascontiguousarray(lut)}
    for name, mode in (("rgb_301x97_444.jpg", "crop"), ("exif6_45x31.jpg", "pad")):
        out = run(processor, rgb_images[name], mode)
        index = np.zeros(out.shape, np.uint8)
        for c in range(3):
            table = lut[c]
            idx = np.searchsorted(table, out[c])
            idx = np.clip(idx, 0, 255)
            assert np.array_equal(table[idx], out[c]), "processor output is not a table lookup"
            index[c] = idx
        tensors[f"{name}|{mode}"] = index
    save_file(tensors, str(ROOT / "pixel_values_llava.safetensors"))
    total = sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file())
    print(f"wrote {ROOT} ({total} bytes)")


if __name__ == "__main__":
    main()
