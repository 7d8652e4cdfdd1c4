#!/usr/bin/python3
"""Writes the checkpoint fixtures of tests/formats (tests/fixtures/formats/).

Run with the system Python that has torch 1.13:  /usr/bin/python3 tools/make_format_fixtures.py

What it makes (all tiny, < 200 KB together):
  hf_bin_f16/               single pytorch_model.bin written by torch.save (real PyTorch zip), fp16,
                            an OrderedDict with _metadata (pickle BUILD), causal_mask/masked_bias
                            buffers, and ln_1 weight/bias sharing one storage (offsets)
  hf_sharded_bin_bf16/      two .bin shards with the early 6-digit names + pytorch_model.bin.index.json
  hf_safetensors_f32/       model.safetensors (hand-written: the safetensors package is not installed)
  hf_sharded_safetensors_f16/ two .safetensors shards + model.safetensors.index.json
  expected.json             for each folder: per canonical tensor the shape, dtype, first values and
                            the float64 sum; and the fused-qkv source row of every canonical row,
                            computed by running the reference code's reshape/split (modeling_moss.py
                            _split_heads with mp_num = 4) on row indices
  seed/tiny.gguf            a GGUF v3 file written by an independent Python writer (struct, from
                            spec/gguf.md): f32, f16 and q8_0 tensors and every KV type; the C++
                            reader test checks it and the GGUF fuzz target starts from it
  bad/                      hostile inputs: forbidden globals, legacy pickle, non-contiguous
                            strides, a deflated zip entry
The tokenizer files are a synthetic MOSS-style vocabulary: 256 byte tokens, a few merges,
<|endoftext|>, 38 whitespace-run tokens and the 5 end markers.
"""
import collections
import io
import json
import os
import pickle
import shutil
import struct
import zipfile

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "formats")

# Tiny config: E = 16, H = 4 (D = 4, 1 head per mp chunk), 2 layers, F = 4E = 64 (n_inner null).
CONFIG = {
    "architectures": ["MossForCausalLM"], "model_type": "moss", "activation_function": "gelu_new",
    "vocab_size": 48, "n_positions": 64, "n_ctx": 64, "n_embd": 16, "n_layer": 2, "n_head": 4,
    "rotary_dim": 2, "n_inner": None, "layer_norm_epsilon": 1e-05, "initializer_range": 0.02,
    "bos_token_id": 260, "eos_token_id": 300, "tie_word_embeddings": False, "torch_dtype": "float32",
    "transformers_version": "4.25.1",
}
E, H, L, V = CONFIG["n_embd"], CONFIG["n_head"], CONFIG["n_layer"], CONFIG["vocab_size"]
F, D, MP = 4 * E, E // H, 4


def bytes_to_unicode():
    """GPT-2 byte -> unicode map (spec 2.2)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def tokenizer_files():
    byte_map = bytes_to_unicode()
    vocab = {byte_map[b]: b for b in range(256)}
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)  # 260 = bos/unk
    n = len(vocab)  # 261: first added id
    added = {}
    # Same scheme as MOSS (spec 2.1): 31 spaces .. 2 spaces, then 9 tabs .. 2 tabs, then markers.
    for k in range(31, 1, -1):
        added[" " * k] = n + (31 - k)
    for k in range(9, 1, -1):
        added["\t" * k] = n + 30 + (9 - k)
    for i, m in enumerate(["<eoh>", "<eom>", "<eot>", "<eoc>", "<eor>"]):
        added[m] = n + 38 + i  # <eom> = 300
    at = lambda c: {"content": c, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    special = {
        "additional_special_tokens": [at(m) for m in ["<eoh>", "<eom>", "<eot>", "<eoc>", "<eor>"]],
        "bos_token": "<|endoftext|>", "eos_token": at("<eom>"), "unk_token": "<|endoftext|>",
    }
    tok_config = {"add_bos_token": False, "add_prefix_space": False, "bos_token": "<|endoftext|>", "eos_token": "<eom>",
                  "errors": "replace", "model_max_length": 64, "pad_token": None, "tokenizer_class": "MossTokenizer",
                  "unk_token": "<|endoftext|>"}
    merges_txt = "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges)
    return {
        "vocab.json": json.dumps(vocab, ensure_ascii=False),
        "merges.txt": merges_txt,
        "added_tokens.json": json.dumps(added, ensure_ascii=False, indent=2, sort_keys=True),
        "special_tokens_map.json": json.dumps(special, indent=2),
        "tokenizer_config.json": json.dumps(tok_config, indent=2),
    }


def base_weights():
    """fp32 state dict in HF names (values of modest size so bf16/fp16 keep them finite)."""
    g = torch.Generator().manual_seed(1234)
    r = lambda *s: torch.randn(*s, generator=g) * 0.5
    sd = collections.OrderedDict()
    sd["transformer.wte.weight"] = r(V, E)
    for i in range(L):
        p = f"transformer.h.{i}."
        sd[p + "ln_1.weight"] = 1 + r(E) * 0.1
        sd[p + "ln_1.bias"] = r(E) * 0.1
        sd[p + "attn.causal_mask"] = torch.tril(torch.ones(8, 8, dtype=torch.uint8)).view(1, 1, 8, 8)
        sd[p + "attn.masked_bias"] = torch.tensor(-1e9)
        sd[p + "attn.qkv_proj.weight"] = r(3 * E, E)
        sd[p + "attn.out_proj.weight"] = r(E, E)
        sd[p + "mlp.fc_in.weight"] = r(F, E)
        sd[p + "mlp.fc_in.bias"] = r(F)
        sd[p + "mlp.fc_out.weight"] = r(E, F)
        sd[p + "mlp.fc_out.bias"] = r(E)
    sd["transformer.ln_f.weight"] = 1 + r(E) * 0.1
    sd["transformer.ln_f.bias"] = r(E) * 0.1
    sd["lm_head.weight"] = r(V, E)
    sd["lm_head.bias"] = r(V)
    return sd


def cast(sd, dtype):
    return collections.OrderedDict((k, v.to(dtype) if v.is_floating_point() else v.clone()) for k, v in sd.items())


def qkv_source_rows():
    """Canonical row -> fused row, by running modeling_moss.py's split on row indices."""
    rows = torch.arange(3 * E)
    qkv_split = rows.reshape(MP, -1)                       # qkv.reshape(qkv.shape[:-1] + (mp_num, -1))
    local_dim = D * H // MP
    query, value, key = torch.split(qkv_split, local_dim, dim=-1)

    def split_heads(x):                                    # _split_heads(x, n_head, dim_head, mp_num)
        reshaped = x.reshape(x.shape[:-1] + (H // MP, D))
        return reshaped.reshape(x.shape[:-2] + (-1,) + reshaped.shape[-1:])   # [H, D]

    q, k, v = split_heads(query), split_heads(key), split_heads(value)
    return torch.cat([q.reshape(-1), k.reshape(-1), v.reshape(-1)]).tolist()


CANON = {"transformer.wte.weight": "token_embd.weight", "transformer.ln_f.weight": "output_norm.weight",
         "transformer.ln_f.bias": "output_norm.bias", "lm_head.weight": "output.weight", "lm_head.bias": "output.bias"}
for _i in range(L):
    for _hf, _c in [("ln_1.weight", "attn_norm.weight"), ("ln_1.bias", "attn_norm.bias"),
                    ("attn.qkv_proj.weight", "attn_qkv.weight"), ("attn.out_proj.weight", "attn_output.weight"),
                    ("mlp.fc_in.weight", "ffn_up.weight"), ("mlp.fc_in.bias", "ffn_up.bias"),
                    ("mlp.fc_out.weight", "ffn_down.weight"), ("mlp.fc_out.bias", "ffn_down.bias")]:
        CANON[f"transformer.h.{_i}.{_hf}"] = f"blk.{_i}.{_c}"


def expected_for(sd):
    src = qkv_source_rows()
    out = {}
    for hf, name in CANON.items():
        t = sd[hf]
        if hf.endswith("qkv_proj.weight"):
            t = t[src]
        f = t.float().reshape(-1)
        out[name] = {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
                     "first": [float(x) for x in f[:4]], "sum": float(f.double().sum())}
    return out


def write_safetensors(path, sd):
    names = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "U8": torch.uint8}
    rev = {v: k for k, v in names.items()}
    header, blobs, off = {}, [], 0
    for k, t in sd.items():
        t = t.contiguous()
        raw = t.view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[k] = {"dtype": rev[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def write_folder(name, files):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    cfg = dict(CONFIG)
    for fname, text in list(tokenizer_files().items()) + [("config.json", json.dumps(cfg, indent=2))]:
        with open(os.path.join(d, fname), "w", encoding="utf-8") as f:
            f.write(text)
    return d


def index_json(shards):
    wm = {k: fname for fname, sd in shards for k in sd}
    total = sum(v.numel() * v.element_size() for _, sd in shards for v in sd.values())
    return json.dumps({"metadata": {"total_size": total}, "weight_map": wm}, indent=2, sort_keys=True)


def split_shards(sd, names):
    keys = list(sd)
    half = len(keys) // 2
    return [(names[0], collections.OrderedDict((k, sd[k]) for k in keys[:half])),
            (names[1], collections.OrderedDict((k, sd[k]) for k in keys[half:]))]


def write_gguf_seed(path):
    """GGUF v3 by hand (spec/gguf.md layout): KV pairs, tensor infos (ne reversed), data at 32."""
    def gstr(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b

    fmt = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}

    def gval(t, v):
        if t == 8:
            return gstr(v)
        if t == 9:
            et, items = v
            return struct.pack("<IQ", et, len(items)) + b"".join(gval(et, x) for x in items)
        return struct.pack(fmt[t], v)

    kv = [("general.architecture", 8, "moss"), ("general.alignment", 4, 32), ("moss.block_count", 4, 2),
          ("test.u8", 0, 200), ("test.i8", 1, -100), ("test.u16", 2, 60000), ("test.i16", 3, -30000),
          ("test.i32", 5, -2000000000), ("test.f32", 6, 0.5), ("test.bool", 7, True), ("test.u64", 10, 2**63 + 5),
          ("test.i64", 11, -2**62), ("test.f64", 12, 0.1), ("test.ints", 9, (5, [1, -2, 3])),
          ("test.strs", 9, (8, ["a", "", "\u4f60\u597d"])), ("test.nested", 9, (9, [(6, [1.5]), (6, [])]))]
    w = torch.arange(64, dtype=torch.float32).reshape(2, 32) * 0.25
    n = torch.arange(1, 33, dtype=torch.float16)
    # q8_0 block: d = 0.5 (f16), qs = -16..15 -> values (k - 16) * 0.5
    q = struct.pack("<e", 0.5) + bytes((k - 16) & 0xFF for k in range(32))
    tensors = [("w", list(w.shape), 0, w.numpy().tobytes()), ("n", list(n.shape), 1, n.numpy().tobytes()),
               ("q", [1, 32], 8, q)]
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv))
    for k, t, v in kv:
        head += gstr(k) + struct.pack("<I", t) + gval(t, v)
    pad = lambda n: (n + 31) // 32 * 32
    off, blobs = 0, b""
    for name, shape, t, raw in tensors:
        head += gstr(name) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d) for d in reversed(shape))
        head += struct.pack("<IQ", t, off)
        blobs += raw + b"\0" * (pad(len(raw)) - len(raw))
        off += pad(len(raw))
    head += b"\0" * (pad(len(head)) - len(head))
    with open(path, "wb") as f:
        f.write(head + blobs)


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    base = base_weights()
    expected = {"qkv_source_rows": qkv_source_rows(), "config": {"E": E, "H": H, "L": L, "V": V, "F": F}}

    # 1. single .bin, fp16, like model.state_dict(): _metadata attribute, shared storage.
    sd = cast(base, torch.float16)
    for i in range(L):
        p = f"transformer.h.{i}.ln_1."
        both = torch.cat([sd[p + "weight"], sd[p + "bias"]])  # one storage, two views (offset 0 and E)
        sd[p + "weight"], sd[p + "bias"] = both[:E], both[E:]
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("transformer", {"version": 1})])
    d = write_folder("hf_bin_f16", None)
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    expected["hf_bin_f16"] = expected_for(sd)

    # 2. sharded .bin, bf16, 6-digit shard names (early MOSS base revisions), via the index.
    sd = cast(base, torch.bfloat16)
    d = write_folder("hf_sharded_bin_bf16", None)
    shards = split_shards(sd, ["pytorch_model-000001-of-000002.bin", "pytorch_model-000002-of-000002.bin"])
    for fname, part in shards:
        torch.save(part, os.path.join(d, fname))
    with open(os.path.join(d, "pytorch_model.bin.index.json"), "w") as f:
        f.write(index_json(shards))
    expected["hf_sharded_bin_bf16"] = expected_for(sd)

    # 3. single safetensors, fp32 (the buffers are left out, as safetensors exports do).
    sd = collections.OrderedDict((k, v) for k, v in base.items() if "causal_mask" not in k and "masked_bias" not in k)
    d = write_folder("hf_safetensors_f32", None)
    write_safetensors(os.path.join(d, "model.safetensors"), sd)
    expected["hf_safetensors_f32"] = expected_for(sd)

    # 4. sharded safetensors, fp16.
    sd = cast(collections.OrderedDict((k, v) for k, v in base.items() if "masked_bias" not in k), torch.float16)
    d = write_folder("hf_sharded_safetensors_f16", None)
    shards = split_shards(sd, ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
    for fname, part in shards:
        write_safetensors(os.path.join(d, fname), part)
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        f.write(index_json(shards))
    expected["hf_sharded_safetensors_f16"] = expected_for(sd)

    with open(os.path.join(ROOT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)

    os.makedirs(os.path.join(ROOT, "seed"))
    write_gguf_seed(os.path.join(ROOT, "seed", "tiny.gguf"))

    # ---- hostile inputs ----
    bad = os.path.join(ROOT, "bad")
    os.makedirs(bad)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    def entry(name, compress=zipfile.ZIP_STORED):  # fixed timestamp: reruns give identical files
        info = zipfile.ZipInfo(name, date_time=(2023, 4, 21, 0, 0, 0))
        info.compress_type = compress
        return info

    def zip_with_pickle(path, pkl):
        with zipfile.ZipFile(path, "w") as z:
            z.writestr(entry("archive/data.pkl"), pkl)
            z.writestr(entry("archive/version"), "3\n")

    # Python's pickle names os.system by its real module (posix.system on Linux), protocol 2 REDUCE.
    zip_with_pickle(os.path.join(bad, "evil_posix_system.bin"), pickle.dumps({"w": Evil()}, protocol=2))
    # The same, spelled os.system by hand: PROTO 2, GLOBAL 'os system', args tuple, REDUCE, STOP.
    evil = b"\x80\x02cos\nsystem\nX\x0a\x00\x00\x00echo pwnedq\x00\x85R."
    zip_with_pickle(os.path.join(bad, "evil_os_system.bin"), evil)
    # builtins.eval through a state-dict-shaped pickle.
    zip_with_pickle(os.path.join(bad, "evil_eval.bin"), b"\x80\x02}q\x00X\x01\x00\x00\x00wcbuiltins\neval\nX\x01\x00\x00\x001\x85Rs.")
    # Legacy (pre-1.6) torch.save format (its storage keys are object ids: differs on each run).
    torch.save({"w": torch.zeros(2)}, os.path.join(bad, "legacy.bin"), _use_new_zipfile_serialization=False)
    # Non-contiguous tensor (a transposed view keeps its strides through torch.save).
    torch.save({"w": torch.arange(12, dtype=torch.float32).reshape(3, 4).t()}, os.path.join(bad, "strided.bin"))
    # A valid checkpoint whose data.pkl is deflated (torch.save never compresses).
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(os.path.join(bad, "deflated.bin"), "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(entry(info.filename, zipfile.ZIP_DEFLATED), src.read(info.filename))
    # A small valid checkpoint (seed for the fuzzer, base for the truncation tests).
    torch.save(collections.OrderedDict([("a", torch.arange(6, dtype=torch.float16).reshape(2, 3)),
                                        ("b", torch.tensor([1, 2, 3], dtype=torch.int32))]),
               os.path.join(bad, "small_ok.bin"))

    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(ROOT) for f in fs)
    print(f"wrote {ROOT}: {total} bytes")


if __name__ == "__main__":
    main()
