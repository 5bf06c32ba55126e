#!/usr/bin/env python3
"""Generate the JPEG fixtures used by Tests/EngineTests/JPEGTests.swift.

Run once from the repository root:  python3 Tests/Fixtures/images/jpeg/make_jpeg_fixtures.py
Needs: pip install pillow numpy. Generated with Pillow 13.0.0 (libjpeg-turbo 3.2.0 inside its
wheel), numpy 2.x. Seeded: re-running writes identical files.

Pillow is the reference because timm loads images with `Image.open(f).convert('RGB')`. Pillow
decodes JPEG with libjpeg-turbo (islow IDCT, fancy upsampling), the same library TokenScope links,
so the expected pixels here are what the Swift decoder must give byte for byte.

Writes, next to this script:
  * <kind>.jpg: the same 37x29 picture saved as baseline 4:2:0, 4:2:2, 4:4:4, progressive 4:2:0,
    grayscale and CMYK (odd sizes, so the last chroma column and row are upsampled from one sample);
  * <kind>.rgb.u8: Pillow's `np.asarray(Image.open(f).convert('RGB'))`, raw HWC bytes;
  * photo.jpg (a 120x90 crop of assets/images/photos/chelsea.png, quality 85, 4:2:0) and
    photo.tensor.f32: timm's eval transform of Pillow's decode for a 32-pixel input at crop_pct 0.9
    (resize the shorter side to 35 with Pillow's bicubic, center crop, ToTensor, ImageNet Normalize),
    CHW float32 little-endian;
  * broken files: truncated.jpg (the first 60 % of baseline420.jpg), bomb_header.jpg (a valid header
    that declares 60000 x 60000 pixels over 8 x 8 pixels of data), garbage.jpg (the JPEG signature followed
    by noise);
  * manifest.json: file names, sizes and what each case expects.
"""
import io
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
rng = np.random.default_rng(20260519)
manifest = {"decode": [], "errors": [], "preprocess": []}

# A smooth colour field plus noise: chroma varies inside every 2x2 block, so subsampling matters.
W, H = 37, 29
yy, xx = np.mgrid[0:H, 0:W]
base = np.stack([xx * 255 / (W - 1), yy * 255 / (H - 1), (xx + yy) * 255 / (W + H - 2)], axis=2)
picture = np.clip(base + rng.normal(0, 24, size=(H, W, 3)), 0, 255).astype(np.uint8)
src = Image.fromarray(picture, "RGB")


def decoded(name):
    with Image.open(HERE / name) as im:
        return im.mode, np.asarray(im.convert("RGB"), dtype=np.uint8)


def add_decode(name, note):
    mode, rgb = decoded(name)
    (HERE / name.replace(".jpg", ".rgb.u8")).write_bytes(rgb.tobytes())
    manifest["decode"].append({"file": name, "width": rgb.shape[1], "height": rgb.shape[0], "pilMode": mode,
                               "expected": name.replace(".jpg", ".rgb.u8"), "note": note})


src.save(HERE / "baseline420.jpg", quality=90, subsampling=2)
add_decode("baseline420.jpg", "baseline, 4:2:0 (h2v2 fancy upsampling)")
src.save(HERE / "baseline422.jpg", quality=90, subsampling=1)
add_decode("baseline422.jpg", "baseline, 4:2:2 (h2v1 fancy upsampling)")
src.save(HERE / "baseline444.jpg", quality=90, subsampling=0)
add_decode("baseline444.jpg", "baseline, 4:4:4 (no upsampling)")
src.save(HERE / "progressive420.jpg", quality=90, subsampling=2, progressive=True)
add_decode("progressive420.jpg", "progressive, 4:2:0")
src.convert("L").save(HERE / "gray.jpg", quality=90)
add_decode("gray.jpg", "one component; convert('RGB') repeats it")
src.convert("CMYK").save(HERE / "cmyk.jpg", quality=95)
add_decode("cmyk.jpg", "four components (Adobe, inverted CMYK); convert('RGB') by Pillow's cmyk2rgb")

# A photo through the whole eval transform.
with Image.open(ROOT / "assets/images/photos/chelsea.png") as im:
    photo = im.convert("RGB")
    photo = photo.resize((photo.width * 90 // photo.height, 90), Image.BICUBIC)
    left = (photo.width - 120) // 2
    photo = photo.crop((left, 0, left + 120, 90))
photo.save(HERE / "photo.jpg", quality=85, subsampling=2)
SIZE, CROP = 32, 0.9
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
with Image.open(HERE / "photo.jpg") as im:
    im = im.convert("RGB")
    scale = math.floor(SIZE / CROP)
    short, long = min(im.size), max(im.size)
    new_long = int(scale * long / short)
    new_w, new_h = (scale, new_long) if im.width <= im.height else (new_long, scale)
    resized = np.asarray(im.resize((new_w, new_h), Image.BICUBIC), dtype=np.uint8)
top = int(round((new_h - SIZE) / 2.0))
left = int(round((new_w - SIZE) / 2.0))
crop = resized[top:top + SIZE, left:left + SIZE]
x = crop.astype(np.float32).transpose(2, 0, 1) / np.float32(255)
x = (x - np.asarray(MEAN, np.float32)[:, None, None]) / np.asarray(STD, np.float32)[:, None, None]
(HERE / "photo.tensor.f32").write_bytes(x.astype("<f4").tobytes())
manifest["preprocess"].append({"file": "photo.jpg", "inputSize": SIZE, "cropPct": CROP, "mean": MEAN, "std": STD,
                               "tensor": "photo.tensor.f32"})

# Broken files.
whole = (HERE / "baseline420.jpg").read_bytes()
(HERE / "truncated.jpg").write_bytes(whole[: len(whole) * 6 // 10])
manifest["errors"].append({"file": "truncated.jpg", "kind": "corrupt"})
buf = io.BytesIO()
Image.new("RGB", (8, 8)).save(buf, "JPEG")
b = bytearray(buf.getvalue())
sof = b.index(b"\xff\xc0")
b[sof + 5:sof + 9] = (60000).to_bytes(2, "big") + (60000).to_bytes(2, "big")  # height, width
(HERE / "bomb_header.jpg").write_bytes(bytes(b))  # 8x8 worth of data: decoding would run out
manifest["errors"].append({"file": "bomb_header.jpg", "kind": "tooLarge"})
(HERE / "garbage.jpg").write_bytes(b"\xff\xd8\xff" + rng.integers(0, 256, size=200, dtype=np.uint8).tobytes())
manifest["errors"].append({"file": "garbage.jpg", "kind": "corrupt"})

(HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
print("wrote", len(manifest["decode"]), "decode cases,", len(manifest["errors"]), "broken files and the photo")
