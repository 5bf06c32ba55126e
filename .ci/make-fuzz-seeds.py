#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora into Tests/Fuzz/corpus (run once; the files are committed).

  python3 .ci/make-fuzz-seeds.py && .build/release/tokenscope compress --model Tests/Fuzz/corpus/safetensors/tiny-vit.safetensors \
      --ranks Tests/Fuzz/corpus/ranks/tiny.ranks.safetensors --keep 0.5 --prune 0.25 --out Tests/Fuzz/corpus/pm/tiny-pm.safetensors

Standard library only. The tiny ViT matches the ranks target's model (16x16 gray images, patch 4, dim
16, 3 blocks, 2 heads, 3 classes) so the ranks seed loads; images come from Tests/Fixtures/images."""
import gzip, json, os, random, shutil, struct

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
corpus = os.path.join(root, "Tests", "Fuzz", "corpus")
rng = random.Random(7)


def safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    for name, (shape, values) in tensors.items():
        data = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def rand(n):
    return [rng.uniform(-0.3, 0.3) for _ in range(n)]


d, depth, heads, classes, grid, patch = 16, 3, 2, 3, 4, 4
tokens = grid * grid + 1
t = {"cls_token": ([1, 1, d], rand(d)), "pos_embed": ([1, tokens, d], rand(tokens * d)),
     "patch_embed.proj.weight": ([d, 1, patch, patch], rand(d * patch * patch)), "patch_embed.proj.bias": ([d], rand(d))}
for i in range(depth):
    p = "blocks.%d." % i
    for name, shape in [("norm1.weight", [d]), ("norm1.bias", [d]), ("attn.qkv.weight", [3 * d, d]), ("attn.qkv.bias", [3 * d]),
                        ("attn.proj.weight", [d, d]), ("attn.proj.bias", [d]), ("norm2.weight", [d]), ("norm2.bias", [d]),
                        ("mlp.fc1.weight", [4 * d, d]), ("mlp.fc1.bias", [4 * d]), ("mlp.fc2.weight", [d, 4 * d]), ("mlp.fc2.bias", [d])]:
        n = 1
        for s in shape:
            n *= s
        t[p + name] = (shape, rand(n))
t["norm.weight"] = ([d], rand(d)); t["norm.bias"] = ([d], rand(d))
t["head.weight"] = ([classes, d], rand(classes * d)); t["head.bias"] = ([classes], rand(classes))
for sub in ["safetensors", "pm", "ranks", "image", "idx", "keys"]:
    os.makedirs(os.path.join(corpus, sub), exist_ok=True)
config = {"img": grid * patch, "patch": patch, "channels": 1, "dim": d, "depth": depth, "heads": heads,
          "head_dim": d // heads, "mlp": 4 * d, "classes": classes, "distilled": False, "qkv_bias": True}
safetensors(os.path.join(corpus, "safetensors", "tiny-vit.safetensors"), t, {"format": "pt", "config": json.dumps(config)})
safetensors(os.path.join(corpus, "safetensors", "one-tensor.safetensors"), {"x": ([2, 3], rand(6))})
safetensors(os.path.join(corpus, "ranks", "tiny.ranks.safetensors"),
            {"seq_ranks.%d" % i: ([grid * grid], [abs(v) for v in rand(grid * grid)]) for i in range(depth)})

images = os.path.join(root, "Tests", "Fixtures", "images")
for name in ["gray1.png", "gray8.png", "rgb8.png", "rgba8.png", "palette4.png", "rgb8_interlaced.png", "rgb16.png",
             "jpeg/gray.jpg", "jpeg/baseline420.jpg", "jpeg/progressive420.jpg", "jpeg/cmyk.jpg"]:
    shutil.copy(os.path.join(images, name), os.path.join(corpus, "image", name.replace("/", "-")))

n, rows, cols = 3, 4, 4
img = struct.pack(">IIII", 0x00000803, n, rows, cols) + bytes(rng.randrange(256) for _ in range(n * rows * cols))
lab = struct.pack(">II", 0x00000801, n) + bytes([0, 1, 2])
cut = round(len(img) * 255 / (len(img) + len(lab)))
with open(os.path.join(corpus, "idx", "plain.idx"), "wb") as f:
    f.write(bytes([cut]) + img + lab)
gi, gl = gzip.compress(img, mtime=0), gzip.compress(lab, mtime=0)
with open(os.path.join(corpus, "idx", "gzipped.idx"), "wb") as f:
    f.write(bytes([round(len(gi) * 255 / (len(gi) + len(gl)))]) + gi + gl)

for k in range(4):
    with open(os.path.join(corpus, "keys", "keys%d.bin" % k), "wb") as f:
        f.write(bytes(rng.randrange(256) for _ in range(64)))
