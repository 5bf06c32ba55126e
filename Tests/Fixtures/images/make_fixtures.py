#!/usr/bin/env python3
"""Generate the image fixtures used by Tests/EngineTests/ImageTests.swift.

Run once from anywhere:  python3 Tests/Fixtures/images/make_fixtures.py
Needs: pip install pillow numpy pypng   (torch/torchvision are NOT needed: their
eval-transform arithmetic is reproduced below in numpy, line by line).
Generated with Pillow 13.0.0, numpy 2.4.6, pypng 0.20220715.0. The pass-order cases need Pillow
13 (older Pillow always resizes horizontally first and would give different bytes for them).

Everything is seeded, so re-running rewrites identical files. It writes, next to this script:
  * codec fixtures: small PNGs of every colour type / bit depth (written by pypng, so the
    encoder is not libpng), broken files, and a "decompression bomb" header;
  * preprocess fixtures: input PNGs, PIL's bicubic-resized uint8 image (raw, HWC) and the
    final normalised CHW float32 tensor (raw little-endian) for each case;
  * manifest.json describing all of the above (sizes, expected pixels, file names).
"""
import json
import math
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import png  # pypng
from PIL import Image

# PIL warns that palette+tRNS images "should be converted to RGBA"; convert('RGB') is what timm does.
warnings.filterwarnings("ignore", message="Palette images with Transparency")
HERE = Path(__file__).resolve().parent
rng = np.random.default_rng(20261121)
manifest = {"codec": [], "errors": [], "preprocess": [], "resize": [], "grayscale": []}


def write_png(name, rows, width, height, **info):
    with open(HERE / name, "wb") as f:
        png.Writer(width, height, **info).write(f, rows)


def pil_rgb(name):
    """What timm's loader sees: PIL open + convert('RGB') (alpha dropped, palette expanded)."""
    with Image.open(HERE / name) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def add_codec(name, expected, tolerance=0, note=""):
    h, w, _ = expected.shape
    manifest["codec"].append({
        "file": name, "width": w, "height": h, "tolerance": tolerance, "note": note,
        "rgb": [int(v) for v in expected.reshape(-1)],
    })


# --- 1. Codec fixtures: 7x5 images of every kind ---------------------------------------
W, H = 7, 5
rgb = rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8)
rows = rgb.reshape(H, W * 3).tolist()
write_png("rgb8.png", rows, W, H, greyscale=False, bitdepth=8)
add_codec("rgb8.png", pil_rgb("rgb8.png"))
write_png("rgb8_interlaced.png", rows, W, H, greyscale=False, bitdepth=8, interlace=True)
add_codec("rgb8_interlaced.png", pil_rgb("rgb8_interlaced.png"), note="Adam7; same pixels as rgb8")
assert (pil_rgb("rgb8_interlaced.png") == rgb).all()

alpha = rng.integers(0, 256, size=(H, W, 1), dtype=np.uint8)
alpha[0, 0, 0], alpha[0, 1, 0] = 0, 115  # fully transparent and half transparent pixels
rgba = np.concatenate([rgb, alpha], axis=2)
write_png("rgba8.png", rgba.reshape(H, W * 4).tolist(), W, H, greyscale=False, alpha=True, bitdepth=8)
add_codec("rgba8.png", pil_rgb("rgba8.png"), note="alpha dropped, not composited")
assert (pil_rgb("rgba8.png") == rgb).all()

gray = rng.integers(0, 256, size=(H, W), dtype=np.uint8)
write_png("gray8.png", gray.tolist(), W, H, greyscale=True, bitdepth=8)
add_codec("gray8.png", pil_rgb("gray8.png"))

ga = np.stack([gray, 255 - gray], axis=2)
write_png("graya8.png", ga.reshape(H, W * 2).tolist(), W, H, greyscale=True, alpha=True, bitdepth=8)
add_codec("graya8.png", pil_rgb("graya8.png"), note="gray + alpha, alpha dropped")

# 16-bit: arbitrary 16-bit samples. PIL keeps the high byte for RGB;16B. For 16-bit gray PIL
# opens mode I;16 and convert('RGB') *clips* values above 255 (a PIL quirk we do not copy), so
# the expected value there is the high byte v >> 8, like PIL's RGB path. libpng with
# PNG_IMAGE_FLAG_16BIT_sRGB rounds v/257 instead, hence tolerance 1.
g16 = rng.integers(0, 65536, size=(H, W), dtype=np.uint16)
g16[0, 0], g16[0, 1] = 25700, 32768
write_png("gray16.png", g16.tolist(), W, H, greyscale=True, bitdepth=16)
add_codec("gray16.png", np.repeat((g16 >> 8).astype(np.uint8)[:, :, None], 3, axis=2), tolerance=1,
          note="expected = high byte; libpng rounds v/257")
rgb16 = rng.integers(0, 65536, size=(H, W, 3), dtype=np.uint16)
rgb16[0, 1] = np.array([217, 207, 235]) * 257
write_png("rgb16.png", rgb16.reshape(H, W * 3).tolist(), W, H, greyscale=False, bitdepth=16)
assert (pil_rgb("rgb16.png") == (rgb16 >> 8)).all()
add_codec("rgb16.png", pil_rgb("rgb16.png"), tolerance=1, note="PIL keeps the high byte; libpng rounds v/257")

pal16 = [tuple(int(c) for c in rng.integers(0, 256, 3)) for _ in range(16)]
idx4 = rng.integers(0, 16, size=(H, W))
write_png("palette4.png", idx4.tolist(), W, H, palette=pal16, bitdepth=4)
add_codec("palette4.png", pil_rgb("palette4.png"))
pal4a = [tuple(int(c) for c in rng.integers(0, 256, 3)) + (a,) for a in (0, 80, 200, 255)]
idx2 = rng.integers(0, 4, size=(H, W))
write_png("palette_trns.png", idx2.tolist(), W, H, palette=pal4a, bitdepth=2)
add_codec("palette_trns.png", pil_rgb("palette_trns.png"), note="tRNS alpha dropped")
bits = rng.integers(0, 2, size=(H, W))
write_png("gray1.png", bits.tolist(), W, H, greyscale=True, bitdepth=1)
add_codec("gray1.png", pil_rgb("gray1.png"))

# --- 2. Broken files ---------------------------------------------------------------------
good = (HERE / "rgb8.png").read_bytes()
(HERE / "truncated.png").write_bytes(good[: len(good) // 2])
idat = good.index(b"IDAT")
length = struct.unpack(">I", good[idat - 4: idat])[0]
crc_at = idat + 4 + length
bad = bytearray(good)
bad[crc_at] ^= 0xFF  # IDAT CRC no longer matches
(HERE / "bad_crc.png").write_bytes(bytes(bad))
(HERE / "not_a_png.png").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 this is a JPEG header, not a PNG\n")


def chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


# A valid-looking 30000 x 30000 1-bit gray header with a tiny IDAT: 900 M pixels, 3.6 GB as RGBA.
bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 1, 0, 0, 0, 0))
bomb += chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
(HERE / "bomb_header.png").write_bytes(bomb)
manifest["errors"] = [
    {"file": "truncated.png", "kind": "corrupt"},
    {"file": "bad_crc.png", "kind": "corrupt"},
    {"file": "not_a_png.png", "kind": "notPNG"},
    {"file": "does_not_exist.png", "kind": "fileNotFound"},
    {"file": "bomb_header.png", "kind": "tooLarge"},
    {"file": "rgb8.png", "kind": "tooLarge", "maxPixels": 34},
]


# --- 3. Preprocessing: timm eval transform as torchvision computes it on a PIL image --------
def torchvision_resize_size(w, h, size):
    """torchvision.transforms.functional._compute_resized_output_size for an int size."""
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if w <= h else (new_long, new_short)  # (new_w, new_h)


def torchvision_center_crop(arr, size):
    """torchvision.transforms.functional.center_crop (pads with 0 when the crop is larger)."""
    h, w = arr.shape[:2]
    top_off = left_off = 0
    if size > w or size > h:
        pl = (size - w) // 2 if size > w else 0
        pt = (size - h) // 2 if size > h else 0
        pr = (size - w + 1) // 2 if size > w else 0
        pb = (size - h + 1) // 2 if size > h else 0
        pad = [(pt, pb), (pl, pr)] + ([(0, 0)] if arr.ndim == 3 else [])
        arr = np.pad(arr, pad)
        top_off, left_off = -pt, -pl
        h, w = arr.shape[:2]
    top = int(round((h - size) / 2.0))
    left = int(round((w - size) / 2.0))
    return arr[top: top + size, left: left + size], top + top_off, left + left_off


def preprocess_case(name, image_file, size, crop_pct, mean, std, channels):
    with Image.open(HERE / image_file) as im:
        im = im.convert("RGB" if channels == 3 else "L")
    scale = math.floor(size / crop_pct)  # timm transforms_imagenet_eval
    new_w, new_h = torchvision_resize_size(im.width, im.height, scale)
    resized = np.asarray(im.resize((new_w, new_h), Image.BICUBIC), dtype=np.uint8)
    crop, top, left = torchvision_center_crop(resized, size)
    x = crop.astype(np.float32).reshape(size, size, channels).transpose(2, 0, 1) / np.float32(255)  # ToTensor
    x = (x - np.asarray(mean, np.float32)[:, None, None]) / np.asarray(std, np.float32)[:, None, None]  # Normalize
    (HERE / f"{name}.resized.u8").write_bytes(resized.tobytes())
    (HERE / f"{name}.tensor.f32").write_bytes(x.astype("<f4").tobytes())
    manifest["preprocess"].append({
        "name": name, "input": image_file, "inputSize": size, "cropPct": crop_pct, "mean": mean,
        "std": std, "channels": channels, "scale": scale, "resizedWidth": new_w, "resizedHeight": new_h,
        "cropTop": top, "cropLeft": left, "resized": f"{name}.resized.u8", "tensor": f"{name}.tensor.f32",
    })


def save_rgb(name, arr):
    Image.fromarray(arr, "RGB").save(HERE / name, optimize=True)


# 300x200: smooth gradients plus hard 0/255 edges (bicubic over/undershoot, so clipping is
# exercised) and a noise patch; compresses well enough to stay small.
yy, xx = np.mgrid[0:200, 0:300]
a = np.stack([(xx * 255 // 299), (yy * 255 // 199), ((xx + yy) * 255 // 498)], axis=2).astype(np.uint8)
a[40:90, 30:80] = 255
a[40:90, 80:130] = 0
a[((xx // 7 + yy // 7) % 2 == 0) & (yy > 120) & (xx < 150)] = [255, 0, 255]
a[120:160, 180:260] = rng.integers(0, 256, size=(40, 80, 3), dtype=np.uint8)
save_rgb("pp_a.png", a)
save_rgb("pp_b.png", rng.integers(0, 256, size=(131, 97, 3), dtype=np.uint8))  # 97 wide, 131 tall, noise
save_rgb("pp_c.png", rng.integers(0, 256, size=(17, 23, 3), dtype=np.uint8))  # smaller than the crop
save_rgb("pp_d.png", rng.integers(0, 256, size=(110, 30, 3), dtype=np.uint8))  # tall and thin

IMNET_MEAN, IMNET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
preprocess_case("pp_a", "pp_a.png", 32, 0.9, IMNET_MEAN, IMNET_STD, 3)  # landscape, downscale 5.7x
preprocess_case("pp_b", "pp_b.png", 48, 0.875, IMNET_MEAN, IMNET_STD, 3)  # portrait, DeiT crop_pct
preprocess_case("pp_c", "pp_c.png", 32, 0.9, IMNET_MEAN, IMNET_STD, 3)  # upscaled
preprocess_case("pp_gray", "pp_b.png", 32, 0.875, [0.45], [0.226], 1)  # grayscale model, 'L' first
preprocess_case("pp_d", "pp_d.png", 24, 0.9, IMNET_MEAN, IMNET_STD, 3)  # Pillow 13 runs the vertical pass first
preprocess_case("pp_pad", "pp_c.png", 20, 1.25, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], 3)  # crop_pct > 1: zero padding


# --- 4. Plain resizes (each pass alone, both directions) and the 'L' conversion ----------
def resize_case(image_file, w, h, channels):
    with Image.open(HERE / image_file) as im:
        im = im.convert("RGB" if channels == 3 else "L")
        out = np.asarray(im.resize((w, h), Image.BICUBIC), dtype=np.uint8)
    name = f"resize_{Path(image_file).stem}_{w}x{h}_{channels}.u8"
    (HERE / name).write_bytes(out.tobytes())
    manifest["resize"].append({"input": image_file, "width": w, "height": h, "channels": channels, "expected": name})


resize_case("pp_b.png", 97, 50, 3)   # vertical pass only
resize_case("pp_b.png", 40, 131, 3)  # horizontal pass only
resize_case("pp_b.png", 10, 7, 3)    # heavy downscale, wide kernels
resize_case("pp_b.png", 30, 200, 1)  # down in x, up in y, gray
# Pillow 13 (ImagingResampleInner) runs the vertical pass first when in_h - out_h > 2 * (in_w - out_w);
# the 8-bit intermediate then rounds differently, so these check the order rule.
resize_case("pp_b.png", 80, 30, 3)
resize_case("pp_b.png", 90, 40, 1)
resize_case("pp_d.png", 26, 95, 3)
resize_case("pp_c.png", 61, 45, 3)   # upscale both
resize_case("pp_c.png", 23, 17, 3)   # same size: a copy
resize_case("pp_c.png", 1, 1, 3)     # degenerate
for image_file in ("pp_c.png", "pp_d.png"):
    with Image.open(HERE / image_file) as im:
        L = np.asarray(im.convert("L"), dtype=np.uint8)
    name = f"gray_{Path(image_file).stem}.u8"
    (HERE / name).write_bytes(L.tobytes())
    manifest["grayscale"].append({"input": image_file, "expected": name})

(HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
total = sum(p.stat().st_size for p in HERE.iterdir() if p.is_file())
print(f"wrote {len(list(HERE.iterdir()))} files, {total / 1024:.1f} KiB in {HERE}")
