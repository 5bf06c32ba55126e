#!/usr/bin/env python3
"""Make a flat folder of photo-sized JPEGs for timing `eval` on JPEG (docs/commands.md, "How fast a
folder is read"). Not used by the tests.

    python3 .ci/make_jpeg_folder.py OUT_DIR [COUNT]     (needs: pip install pillow numpy)

Each file is a seeded random crop of assets/images/photos/{chelsea,coffee}.png, upscaled to
500 x 375 (the median ImageNet validation size), maybe mirrored, saved at quality 90 with 4:2:0
chroma, the settings of a typical camera or web JPEG.
"""
import sys
from pathlib import Path

import numpy as np
from PIL import Image

out = Path(sys.argv[1])
count = int(sys.argv[2]) if len(sys.argv) > 2 else 256
root = Path(__file__).resolve().parents[1]
photos = [Image.open(root / f"assets/images/photos/{n}.png").convert("RGB") for n in ("chelsea", "coffee")]
rng = np.random.default_rng(19)
out.mkdir(parents=True, exist_ok=True)
for i in range(count):
    src = photos[i % 2]
    w = int(rng.integers(160, 257))
    h = min(256, w * 3 // 4)
    x, y = int(rng.integers(0, 257 - w)), int(rng.integers(0, 257 - h))
    im = src.crop((x, y, x + w, y + h)).resize((500, 375), Image.BICUBIC)
    if rng.integers(0, 2):
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    im.save(out / f"{i:04d}.jpg", quality=90, subsampling=2)
print(f"wrote {count} JPEGs to {out}")
