"""Fixture files for SLKDTensor's file-format tests (safetensors and PNG).

Writes small files into Tests/SLKDTensorTests/Vectors/io/ together with `expected.json`, which holds
the values each valid file must decode to and the error each corrupt file must raise:

  * safetensors written by the official `safetensors` package (torch and numpy front ends), with
    F32, F64, F16, BF16 and I64 tensors and `__metadata__`;
  * PNGs written by Pillow (8-bit gray/RGB/RGBA/gray+alpha, 16-bit gray, palette with and without
    transparency, 1-bit) and by a tiny writer below for the layouts Pillow cannot write
    (16-bit RGB/RGBA/gray+alpha); expected values are the stored integers / (2^bits - 1);
  * corrupt files built byte by byte.

Run from Scripts/torchref with /work/torchenv/bin/python:

    python io_fixtures.py                 # (re)write the fixtures
    python io_fixtures.py --check DIR     # check files written by the Swift tests

The second form reads the files that `IOInteropExportTests` writes when the environment variable
SLKD_IO_EXPORT_DIR is set, with the Python safetensors package and Pillow, and compares them with the
values recorded in DIR/expected.json. CI never runs this script.
"""
import json
import math
import os
import struct
import sys
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "SLKDTensorTests", "Vectors", "io")


def num(v):
    """A float for JSON; non-finite values as strings (JSON has no NaN/inf)."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


# MARK: - safetensors

def safetensors_fixtures(expected):
    import torch
    from safetensors.torch import save_file
    from safetensors.numpy import save_file as np_save_file

    g = torch.Generator().manual_seed(7)
    f32 = torch.randn(2, 3, generator=g, dtype=torch.float32)
    f64 = torch.randn(3, 2, generator=g, dtype=torch.float64)
    # Half precision: normal, subnormal (2^-24 is the smallest), max (65504), signed zero, inf, nan.
    f16 = torch.tensor([1.0, -2.5, 0.1, 2.0 ** -24, 65504.0, -0.0, float("inf"), float("nan")],
                       dtype=torch.float16)
    bf16 = torch.tensor([[1.0, -3.140625, 1e30], [1e-30, float("-inf"), 0.3]], dtype=torch.bfloat16)
    # relative_position_index-like buffer plus extremes that a float64 detour would corrupt.
    i64 = torch.tensor([[0, 1, 2], [-5, 2 ** 62 + 1, -(2 ** 63)]], dtype=torch.int64)
    scalar = torch.tensor(3.5, dtype=torch.float32)
    empty = torch.zeros(0, 4, dtype=torch.float32)
    tensors = {"layer.weight": f32, "layer.bias_f64": f64, "half": f16, "brain": bf16,
               "relative_position_index": i64, "scalar": scalar, "empty": empty}
    metadata = {"format": "pt", "note": "SLKD fixture \u00e9\u2713"}
    save_file(tensors, os.path.join(OUT, "mixed.safetensors"), metadata=metadata)

    def rec(t, dtype):
        if dtype == "I64":
            return {"dtype": dtype, "shape": list(t.shape), "ints": [int(v) for v in t.reshape(-1).tolist()]}
        # The value a float32 reader must produce (F16/BF16 widen exactly to float32).
        values = t.to(torch.float64 if dtype == "F64" else torch.float32).reshape(-1).tolist()
        return {"dtype": dtype, "shape": list(t.shape), "data": [num(v) for v in values]}

    dtypes = {"layer.weight": "F32", "layer.bias_f64": "F64", "half": "F16", "brain": "BF16",
              "relative_position_index": "I64", "scalar": "F32", "empty": "F32"}
    # The file order: the data offsets the writer chose.
    with open(os.path.join(OUT, "mixed.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    order = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"])
    expected["safetensors"]["mixed.safetensors"] = {
        "metadata": metadata, "order": order,
        "tensors": {k: rec(v, dtypes[k]) for k, v in tensors.items()}}

    # The numpy front end, one dtype per file, no metadata.
    a = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    np_save_file({"a": a}, os.path.join(OUT, "numpy_f32.safetensors"))
    # Narrowing float32 → F16 / BF16 as torch rounds it: ties, subnormals, overflow, NaN.
    special = [0.0, -0.0, 1.0, 0.1, -0.3, 65504.0, 65519.0, 65520.0, 1e6, -1e6, 2.0 ** -24, 2.0 ** -25,
               3 * 2.0 ** -26, 2.0 ** -26, 6.0e-8, 1e-10, 1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11,
               1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8, 3.4e38, float("inf"), float("-inf"), float("nan")]
    x = torch.cat([torch.tensor(special, dtype=torch.float32),
                   torch.randn(40, generator=g, dtype=torch.float32) * 10 ** torch.randint(-6, 6, (40,), generator=g)])
    expected["rounding"] = {"inputs": [num(v) for v in x.tolist()],
                            "f16": [num(v) for v in x.half().float().tolist()],
                            "bf16": [num(v) for v in x.bfloat16().float().tolist()]}

    expected["safetensors"]["numpy_f32.safetensors"] = {
        "metadata": {}, "order": ["a"],
        "tensors": {"a": {"dtype": "F32", "shape": [3, 4], "data": [float(v) for v in a.reshape(-1)]}}}


def corrupt_safetensors(expected):
    """Hostile files; each maps to the error reason the reader must report."""
    def build(header, data=b"", pad=True, raw_header=None):
        h = raw_header if raw_header is not None else json.dumps(header).encode()
        if pad:
            h += b" " * ((8 - len(h) % 8) % 8)
        return struct.pack("<Q", len(h)) + h + data

    good = build({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                  "b": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]}}, bytes(24))
    f32 = lambda shape, b, e: {"dtype": "F32", "shape": shape, "data_offsets": [b, e]}
    rng = np.random.default_rng(3)
    cases = {
        "empty_file": (b"", "fileTooSmall", None),
        "too_small": (b"\x05\x00\x00", "fileTooSmall", None),
        "truncated_header": (good[:20], "headerLengthExceedsFile", None),
        "truncated_data": (good[:-4], "offsetsOutOfBounds", "b"),
        "header_len_huge": (struct.pack("<Q", 2 ** 64 - 1) + good[8:], "headerTooLarge", None),
        "header_larger_than_file": (struct.pack("<Q", len(good)) + good[8:], "headerLengthExceedsFile", None),
        "offsets_out_of_range": (build({"a": f32([4], 0, 16), "b": f32([4], 16, 32)}, bytes(24)),
                                 "offsetsOutOfBounds", "b"),
        "overlapping": (build({"a": f32([4], 0, 16), "b": f32([4], 8, 24)}, bytes(24)), "overlap", "b"),
        "gap": (build({"a": f32([4], 0, 16), "b": f32([4], 20, 36)}, bytes(36)), "gap", "b"),
        "trailing_bytes": (build({"a": f32([4], 0, 16)}, bytes(20)), "trailingBytes", None),
        "begin_after_end": (build({"a": f32([1], 8, 4)}, bytes(8)), "invalidEntry", "a"),
        "size_mismatch": (build({"a": f32([2, 3], 0, 20)}, bytes(20)), "sizeMismatch", "a"),
        "bad_dtype": (build({"a": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}}, bytes(4)),
                      "unknownDType", "a"),
        "unsupported_dtype": (build({"a": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, bytes(8)),
                              "unsupportedDType", "a"),
        "not_json": (build(None, bytes(4), raw_header=b"{this is not json"), "invalidJSON", None),
        "header_not_object": (build(None, b"", raw_header=b"[1, 2, 3]"), "headerNotObject", None),
        "bad_utf8": (build(None, b"", raw_header=b'{"\xff\xfe": 1}'), "invalidJSON", None),
        "missing_offsets": (build({"a": {"dtype": "F32", "shape": [1]}}, bytes(4)), "invalidEntry", "a"),
        "negative_shape": (build({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, bytes(4)),
                           "invalidEntry", "a"),
        "float_offsets": (build(None, bytes(4), raw_header=b'{"a": {"dtype": "F32", "shape": [1], '
                                                          b'"data_offsets": [0, 4.5]}}'), "invalidEntry", "a"),
        "shape_overflow": (build({"a": f32([2 ** 40, 2 ** 40], 0, 4)}, bytes(4)), "invalidEntry", "a"),
        "metadata_not_strings": (build({"__metadata__": {"n": 1}, "a": f32([1], 0, 4)}, bytes(4)),
                                 "invalidMetadata", None),
        "duplicate_key": (build(None, bytes(8), raw_header=b'{"a": {"dtype": "F32", "shape": [1], '
                                b'"data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], '
                                b'"data_offsets": [4, 8]}}'), "duplicateKey", "a"),
        "deep_nesting": (build(None, b"", raw_header=b"[" * 5000 + b"]" * 5000), "invalidJSON", None),
        "random_bytes": (bytes(rng.integers(0, 256, 200, dtype=np.uint8)), "headerTooLarge", None),
    }
    os.makedirs(os.path.join(OUT, "corrupt"), exist_ok=True)
    for name, (blob, reason, key) in cases.items():
        path = f"corrupt/{name}.safetensors"
        with open(os.path.join(OUT, path), "wb") as f:
            f.write(blob)
        expected["corrupt_safetensors"][path] = {"reason": reason, "key": key}
    # Make sure the official reader rejects every one of them too.
    from safetensors import safe_open
    for path in expected["corrupt_safetensors"]:
        try:
            with safe_open(os.path.join(OUT, path), "np") as f:
                for k in f.keys():
                    f.get_tensor(k)
        except Exception:
            continue
        if expected["corrupt_safetensors"][path]["reason"] not in ("duplicateKey", "invalidMetadata", "unsupportedDType"):
            raise SystemExit(f"python safetensors accepted {path}")


# MARK: - PNG

def png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def write_png16(path, array):
    """A minimal 16-bit PNG writer (filter 0, no ancillary chunks) for layouts Pillow cannot write."""
    h, w, c = array.shape
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    raw = b"".join(b"\x00" + array[y].astype(">u2").tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def png_fixtures(expected):
    from PIL import Image
    rng = np.random.default_rng(11)
    H, W = 4, 5

    def u8(*shape):
        a = rng.integers(0, 256, shape, dtype=np.uint8)
        a.flat[0], a.flat[-1] = 0, 255  # both ends of the range
        return a

    def u16(*shape):
        a = rng.integers(0, 65536, shape, dtype=np.uint16)
        a.flat[0], a.flat[-1] = 0, 65535
        return a

    def rec(name, chw_ints, bits, stored_channels, palette=False, alpha_exact=True):
        """chw_ints: the stored samples as C×H×W integers, alpha last when present."""
        scale = float(2 ** bits - 1)
        expected["png"][name] = {
            "bitDepth": bits, "storedChannels": stored_channels, "palette": palette,
            "shape": list(chw_ints.shape), "ints": [int(v) for v in chw_ints.reshape(-1)],
            "data": [float(v) / scale for v in chw_ints.reshape(-1)], "alphaExact": alpha_exact}

    def save(name, img, **kw):
        img.save(os.path.join(OUT, name), **kw)

    g = u8(H, W); save("gray8.png", Image.fromarray(g)); rec("gray8.png", g[None], 8, 1)
    ga = u8(H, W, 2); save("gray_alpha8.png", Image.fromarray(ga)); rec("gray_alpha8.png", ga.transpose(2, 0, 1), 8, 2)
    rgb = u8(H, W, 3); save("rgb8.png", Image.fromarray(rgb)); rec("rgb8.png", rgb.transpose(2, 0, 1), 8, 3)
    rgba = u8(H, W, 4); save("rgba8.png", Image.fromarray(rgba)); rec("rgba8.png", rgba.transpose(2, 0, 1), 8, 4)
    g16 = u16(H, W)
    save("gray16.png", Image.fromarray(g16))
    rec("gray16.png", g16[None], 16, 1)

    # 1-bit black and white.
    bw = (rng.integers(0, 2, (H, W)) * 255).astype(np.uint8)
    save("bilevel.png", Image.fromarray(bw).convert("1"))
    rec("bilevel.png", (bw // 255)[None], 1, 1)

    # Palette: 6 colours; the decoder returns the palette colours as RGB.
    pal = u8(6, 3)
    idx = rng.integers(0, 6, (H, W)).astype(np.uint8)
    img = Image.fromarray(idx); img.putpalette(pal.reshape(-1).tolist())
    save("palette.png", img)
    rec("palette.png", pal[idx].transpose(2, 0, 1), 8, 3, palette=True)
    # Palette with a tRNS chunk: entries 0 and 3 partly transparent.
    trns = np.full(6, 255, np.uint8); trns[0], trns[3] = 0, 128
    img = Image.fromarray(idx); img.putpalette(pal.reshape(-1).tolist()); img.info["transparency"] = bytes(trns)
    save("palette_alpha.png", img, transparency=bytes(trns))
    pa = np.concatenate([pal[idx], trns[idx][..., None]], axis=2)
    rec("palette_alpha.png", pa.transpose(2, 0, 1), 8, 4, palette=True)

    # 16-bit colour layouts Pillow cannot write. Alpha: mostly opaque plus a few translucent values;
    # libpng's simplified API hands 16-bit alpha images back premultiplied, so colours under
    # translucent alpha come back only approximately (alphaExact = False).
    rgb16 = u16(H, W, 3); write_png16(os.path.join(OUT, "rgb16.png"), rgb16); rec("rgb16.png", rgb16.transpose(2, 0, 1), 16, 3)
    rgba16 = u16(H, W, 4); rgba16[..., 3] = 65535; rgba16[0, 1, 3] = 40000; rgba16[1, 2, 3] = 65000
    write_png16(os.path.join(OUT, "rgba16.png"), rgba16)
    rec("rgba16.png", rgba16.transpose(2, 0, 1), 16, 4, alpha_exact=False)
    ga16 = u16(H, W, 2); ga16[..., 1] = 65535; ga16[2, 2, 1] = 50000
    write_png16(os.path.join(OUT, "gray_alpha16.png"), ga16)
    rec("gray_alpha16.png", ga16.transpose(2, 0, 1), 16, 2, alpha_exact=False)

    # Pillow's luma conversion, for the `.gray` channel option.
    expected["pillow_luma"] = {"rgb8.png": np.asarray(Image.open(os.path.join(OUT, "rgb8.png")).convert("L")).reshape(-1).tolist()}

    # Cross-check what Pillow reads for the layouts it supports.
    for name in ("gray8.png", "gray_alpha8.png", "rgb8.png", "rgba8.png", "gray16.png", "palette.png",
                 "palette_alpha.png"):
        e = expected["png"][name]
        im = Image.open(os.path.join(OUT, name))
        if im.mode == "P":
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        a = np.asarray(im)
        a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
        assert a.reshape(-1).tolist() == e["ints"], name

    # Corrupt PNGs.
    with open(os.path.join(OUT, "rgb8.png"), "rb") as f:
        good = f.read()
    # A recoverable problem: an ancillary tEXt chunk with a bad CRC, which libpng warns about and skips.
    text = png_chunk(b"tEXt", b"Comment\x00fixture")
    text = text[:-4] + bytes(b ^ 0xFF for b in text[-4:])
    with open(os.path.join(OUT, "warning_text_crc.png"), "wb") as f:
        f.write(good[:33] + text + good[33:])
    expected["png_warnings"] = {"warning_text_crc.png": "rgb8.png"}
    bad_crc = bytearray(good); bad_crc[29] ^= 0xFF  # a byte of the IHDR CRC
    corrupt = {
        "empty.png": b"",
        "truncated.png": good[: len(good) // 2],
        "signature_only.png": good[:8],
        "random_bytes.png": bytes(rng.integers(0, 256, 300, dtype=np.uint8)),
        "bad_ihdr_crc.png": bytes(bad_crc),
        "not_png.png": b"GIF89a" + bytes(50),
        "huge_dimensions.png": b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1_000_000, 1_000_000, 8, 2, 0, 0, 0))
                               + png_chunk(b"IDAT", zlib.compress(b"\x00")) + png_chunk(b"IEND", b""),
    }
    os.makedirs(os.path.join(OUT, "corrupt"), exist_ok=True)
    for name, blob in corrupt.items():
        with open(os.path.join(OUT, "corrupt", name), "wb") as f:
            f.write(blob)
        expected["corrupt_png"].append(f"corrupt/{name}")


def write_fixtures():
    os.makedirs(OUT, exist_ok=True)
    expected = {"safetensors": {}, "corrupt_safetensors": {}, "png": {}, "corrupt_png": [], "png_warnings": {}}
    safetensors_fixtures(expected)
    corrupt_safetensors(expected)
    png_fixtures(expected)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
    total = sum(os.path.getsize(os.path.join(dp, n)) for dp, _, ns in os.walk(OUT) for n in ns)
    print(f"wrote fixtures to {OUT} ({total} bytes)")


# MARK: - Check files written by the Swift writer

def check_swift_outputs(directory):
    import torch
    from PIL import Image
    from safetensors.torch import load_file
    from safetensors import safe_open
    with open(os.path.join(directory, "expected.json")) as f:
        expected = json.load(f)
    for name, e in expected["safetensors"].items():
        path = os.path.join(directory, name)
        tensors = load_file(path)
        with safe_open(path, "pt") as f:
            assert (f.metadata() or {}) == e["metadata"], (name, f.metadata())
        for k, r in e["tensors"].items():
            t = tensors[k]
            assert str(t.dtype) == r["torch_dtype"], (name, k, t.dtype)
            assert list(t.shape) == r["shape"], (name, k)
            if t.dtype == torch.int64:
                assert t.reshape(-1).tolist() == r["ints"], (name, k)
            else:
                got = t.to(torch.float64).reshape(-1).tolist()
                want = [float(v) for v in r["data"]]
                for a, b in zip(got, want):
                    assert (math.isnan(a) and math.isnan(b)) or a == b, (name, k, a, b)
        print("ok", name)
    for name, e in expected["png"].items():
        im = Image.open(os.path.join(directory, name))
        if e["bitDepth"] == 16:
            # Pillow reads 16-bit RGB as 8-bit, so decode the raw samples with the reader below.
            a = decode_png_raw(os.path.join(directory, name))
        else:
            a = np.asarray(im)
        a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
        assert list(a.shape) == e["shape"], (name, a.shape)
        assert a.reshape(-1).tolist() == e["ints"], name
        print("ok", name)


def decode_png_raw(path):
    """The stored samples of a non-interlaced PNG (any filter), H×W×C, independent of Pillow and libpng."""
    with open(path, "rb") as f:
        blob = f.read()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, b"", None
    while pos < len(blob):
        n, kind = struct.unpack(">I4s", blob[pos:pos + 8])
        payload = blob[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", payload)
        elif kind == b"IDAT":
            idat += payload
        pos += 12 + n
    w, h, depth, color_type, _, _, interlace = ihdr
    assert interlace == 0 and depth in (8, 16)
    c = {0: 1, 4: 2, 2: 3, 6: 4}[color_type]
    bpp = c * depth // 8
    stride = w * bpp
    raw = zlib.decompress(idat)
    out = np.zeros((h, stride), np.int64)
    prev = np.zeros(stride, np.int64)
    for y in range(h):
        ftype = raw[y * (stride + 1)]
        line = np.frombuffer(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)], np.uint8).astype(np.int64)
        cur = np.zeros(stride, np.int64)
        for x in range(stride):
            a = cur[x - bpp] if x >= bpp else 0
            b = prev[x]
            cc = prev[x - bpp] if x >= bpp else 0
            if ftype == 0: pred = 0
            elif ftype == 1: pred = a
            elif ftype == 2: pred = b
            elif ftype == 3: pred = (a + b) // 2
            else:
                p = a + b - cc
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - cc)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else cc)
            cur[x] = (line[x] + pred) & 0xFF
        out[y], prev = cur, cur
    samples = out.reshape(h, w * c * depth // 8)
    if depth == 16:
        samples = samples[:, 0::2] * 256 + samples[:, 1::2]
    return samples.reshape(h, w, c).squeeze(-1) if c == 1 else samples.reshape(h, w, c)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check_swift_outputs(sys.argv[2])
    else:
        write_fixtures()
