"""Small .pth fixtures for the Swift checkpoint reader (Tests/SLKDModelsTests/Checkpoint*Tests.swift).

Writes Tests/SLKDModelsTests/Vectors/checkpoints/:
* valid files saved with torch.save (default zip format): every storage dtype, a transposed view,
  a shared-storage slice, an expanded (stride 0) view, 0-d and empty tensors, and the BasicSR
  ({'params'}, {'params_ema'}, both), Uformer ({'epoch', 'state_dict' with 'module.', 'optimizer'})
  wrappers around a real module's state_dict() (with its `_metadata`), plus expected.json;
* hostile files assembled byte by byte -- pickles naming posix.system / builtins.eval, bad opcodes,
  stack underflow, memo miss, storages too small, a compressed entry, truncated and corrupted zips.
  They are written, never unpickled here.
Run from Scripts/torchref with /work/torchenv/bin/python pth_fixtures.py.
"""
import collections
import copy
import io
import json
import os
import struct
import zipfile

import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "SLKDModelsTests", "Vectors", "checkpoints")
LOADED_DTYPE = {torch.float32: "float32", torch.float16: "float32", torch.bfloat16: "float32",
                torch.float64: "float64", torch.int64: "int64", torch.int32: "int64",
                torch.int16: "int64", torch.int8: "int64", torch.uint8: "int64", torch.bool: "int64"}


def describe(t):
    return {"dtype": LOADED_DTYPE[t.dtype], "shape": list(t.shape),
            "values": [float(v) for v in t.detach().to(torch.float64).reshape(-1).tolist()]}


def save(name, obj):
    path = os.path.join(OUT, name)
    torch.save(obj, path)
    return path


def tiny_model(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, bias=True), nn.LayerNorm(3))
    model.register_buffer("index", torch.arange(6, dtype=torch.int64).reshape(2, 3) * 7 - 5)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


def valid_files():
    expected = {}
    g = torch.Generator().manual_seed(5)
    base = torch.randn(4, 5, generator=g)
    square = torch.randn(3, 4, generator=g, dtype=torch.float64)
    column = torch.randn(3, 1, generator=g)
    f16 = torch.tensor([1.0, -2.5, 65504.0, 6.0e-8, -0.0, 1e-5, 0.333], dtype=torch.float16)
    tensors = collections.OrderedDict([
        ("f32", torch.randn(2, 3, generator=g)),
        ("f64", torch.randn(3, generator=g, dtype=torch.float64)),
        ("f16", f16),
        ("bf16", torch.randn(2, 2, generator=g).to(torch.bfloat16)),
        ("i64", torch.tensor([-3, 0, 2 ** 40, -(2 ** 62)], dtype=torch.int64)),
        ("i32", torch.tensor([[-7, 8], [2 ** 30, 0]], dtype=torch.int32)),
        ("u8", torch.tensor([0, 200, 255], dtype=torch.uint8)),
        ("flag", torch.tensor([True, False, True])),
        ("scalar", torch.tensor(2.5)),
        ("empty", torch.zeros(0, 3)),
        ("base", base),
        ("slice", base[1:3, 2:]),           # shares base's storage: offset 7, strides (5, 1)
        ("transposed", square.t()),         # non-contiguous: strides (1, 4)
        ("expanded", column.expand(3, 4)),  # stride 0
    ])
    plain = dict(tensors)  # a plain dict, not an OrderedDict
    save("dtypes.pth", plain)
    expected["dtypes.pth"] = {"keys": list(plain), "tensors": {k: describe(v) for k, v in plain.items()},
                              "views": {k: {"storage_offset": v.storage_offset(), "stride": list(v.stride())}
                                        for k, v in plain.items()}}

    a, b = tiny_model(1), tiny_model(2)
    sd_a, sd_b = a.state_dict(), b.state_dict()
    save("basicsr_params.pth", {"params": sd_a})
    save("basicsr_ema.pth", {"params_ema": sd_a})
    save("basicsr_both.pth", {"params": sd_a, "params_ema": sd_b})
    expected["model_a"] = {"keys": list(sd_a), "tensors": {k: describe(v) for k, v in sd_a.items()},
                           "metadata_prefixes": list(sd_a._metadata)}
    expected["model_b"] = {"keys": list(sd_b), "tensors": {k: describe(v) for k, v in sd_b.items()}}

    # Uformer's train_denoise.py: DataParallel keys ('module.'), plus epoch and an Adam state that
    # took one step on a copy (the saved weights stay model a's).
    sd_module = nn.DataParallel(a).state_dict()
    trained = copy.deepcopy(a)
    optimizer = torch.optim.Adam(trained.parameters(), lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.02)
    trained(torch.randn(1, 2, 5, 5, generator=g)).square().mean().backward()
    optimizer.step()
    save("uformer_style.pth", {"epoch": 7, "state_dict": sd_module, "optimizer": optimizer.state_dict()})
    expected["uformer_style.pth"] = {"file_keys": list(sd_module), "epoch": 7, "lr": 2e-4,
                                     "optimizer_state_count": len(optimizer.state_dict()["state"])}
    return expected


# ---------------------------------------------------------------------------------------------
# Hostile files. Pickles are assembled from opcodes; nothing below is ever unpickled.

def archive(name, pickle_bytes, records=None, compress_pickle=False):
    """A torch-style zip: <stem>/data.pkl, <stem>/byteorder, <stem>/data/<key>."""
    stem = os.path.splitext(name)[0]
    buf = io.BytesIO()
    # Every entry is a ZipInfo, whose timestamp is fixed (1980-01-01), so reruns are byte-identical.
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(zipfile.ZipInfo(stem + "/data.pkl"), pickle_bytes,
                   compress_type=zipfile.ZIP_DEFLATED if compress_pickle else zipfile.ZIP_STORED)
        z.writestr(zipfile.ZipInfo(stem + "/byteorder"), b"little")
        for key, data in (records or {}).items():
            z.writestr(zipfile.ZipInfo(stem + "/data/" + key), data)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(buf.getvalue())


def unicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def tensor_pickle(key, numel, size, stride, offset=0, storage="FloatStorage"):
    """{'w': _rebuild_tensor_v2(('storage', torch.<storage>, key, 'cpu', numel), offset, size, stride, False, OrderedDict())}"""
    def ints(values):
        return b"(" + b"".join(b"J" + struct.pack("<i", v) for v in values) + b"t"
    return (b"\x80\x02}" + unicode("w")
            + b"ctorch._utils\n_rebuild_tensor_v2\n"
            + b"((" + unicode("storage") + b"ctorch\n" + storage.encode() + b"\n" + unicode(key) + unicode("cpu")
            + b"J" + struct.pack("<i", numel) + b"tQ"
            + b"J" + struct.pack("<i", offset) + ints(size) + ints(stride)
            + b"\x89ccollections\nOrderedDict\n)Rt" + b"R" + b"s.")


def hostile_files():
    errors = {}
    # posix.system("id") through GLOBAL + REDUCE, as pickle.dumps(os.system) would write it.
    archive("global_posix_system.pth", b"\x80\x02cposix\nsystem\nq\x00" + unicode("id") + b"\x85R.")
    errors["global_posix_system.pth"] = {"error": "forbiddenGlobal", "global": "posix.system"}
    # builtins.eval via STACK_GLOBAL (protocol 4) + REDUCE.
    archive("stack_global_eval.pth",
            b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94\x8c\x0bprint('hi')\x94\x85\x94R\x94.")
    errors["stack_global_eval.pth"] = {"error": "forbiddenGlobal", "global": "builtins.eval"}
    # A forbidden global hidden inside an otherwise ordinary state dict.
    archive("global_in_state_dict.pth",
            b"\x80\x02}(" + unicode("epoch") + b"K\x01" + unicode("x")
            + b"c__builtin__\nexec\n" + unicode("pass") + b"\x85Ru.")
    errors["global_in_state_dict.pth"] = {"error": "forbiddenGlobal", "global": "__builtin__.exec"}
    archive("unknown_opcode.pth", b"\x80\x02}\xff.")
    errors["unknown_opcode.pth"] = {"error": "unknownOpcode", "opcode": 255}
    archive("stack_underflow.pth", b"\x80\x02}R.")
    errors["stack_underflow.pth"] = {"error": "stackUnderflow"}
    archive("memo_miss.pth", b"\x80\x02h\x05.")
    errors["memo_miss.pth"] = {"error": "memoMiss", "index": 5}
    archive("no_stop.pth", b"\x80\x02}q\x00")
    errors["no_stop.pth"] = {"error": "malformedPickle"}
    # Honest numel (4) but a 3x3 view: the view reaches element 8.
    archive("view_past_storage.pth", tensor_pickle("0", 4, [3, 3], [3, 1]), {"0": struct.pack("<4f", 1, 2, 3, 4)})
    errors["view_past_storage.pth"] = {"error": "storageTooSmall", "needed": 9, "available": 4}
    # The pickle claims 6 elements; the record holds 2 floats.
    archive("short_storage_record.pth", tensor_pickle("0", 6, [6], [1]), {"0": struct.pack("<2f", 1, 2)})
    errors["short_storage_record.pth"] = {"error": "storageTooSmall", "needed": 6, "available": 2}
    archive("missing_storage_record.pth", tensor_pickle("3", 2, [2], [1]), {"0": struct.pack("<2f", 1, 2)})
    errors["missing_storage_record.pth"] = {"error": "missingRecord"}
    archive("complex_storage.pth", tensor_pickle("0", 1, [1], [1], storage="ComplexFloatStorage"),
            {"0": b"\0" * 8})
    errors["complex_storage.pth"] = {"error": "forbiddenGlobal", "global": "torch.ComplexFloatStorage"}
    # A real pickle, deflated.
    with zipfile.ZipFile(os.path.join(OUT, "dtypes.pth")) as z:
        real = z.read("dtypes/data.pkl")
    archive("compressed.pth", real, compress_pickle=True)
    errors["compressed.pth"] = {"error": "compressedEntry", "method": 8}
    # Truncations and a corrupted header offset of a valid file.
    with open(os.path.join(OUT, "basicsr_params.pth"), "rb") as f:
        valid = f.read()
    with open(os.path.join(OUT, "truncated.pth"), "wb") as f:
        f.write(valid[: len(valid) // 2])
    errors["truncated.pth"] = {"error": "notAZipArchive"}
    directory = valid.index(b"PK\x01\x02")
    corrupt = bytearray(valid)
    corrupt[directory + 42: directory + 46] = struct.pack("<I", len(valid) + 1000)
    with open(os.path.join(OUT, "bad_local_offset.pth"), "wb") as f:
        f.write(bytes(corrupt))
    errors["bad_local_offset.pth"] = {"error": "malformedArchive"}
    # Central directory offset outside the file (end record field at +16).
    end = valid.rindex(b"PK\x05\x06")
    corrupt = bytearray(valid)
    corrupt[end + 16: end + 20] = struct.pack("<I", len(valid) * 2)
    with open(os.path.join(OUT, "bad_directory_offset.pth"), "wb") as f:
        f.write(bytes(corrupt))
    errors["bad_directory_offset.pth"] = {"error": "malformedArchive"}
    return errors


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".pth"):
            os.remove(os.path.join(OUT, f))
    expected = {"generator": "Scripts/torchref/pth_fixtures.py (torch %s)" % torch.__version__}
    expected.update(valid_files())
    expected["hostile"] = hostile_files()
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("wrote", OUT, len(os.listdir(OUT)), "files,", total, "bytes")


if __name__ == "__main__":
    main()
