#!/usr/bin/python3
"""Writes the tiny MOSS model fixtures under tests/fixtures/models/ (run with /usr/bin/python3, torch).

Two random configurations (spec 1.1 fields, tiny sizes):
  a: E=32, H=4 (one head per mp chunk), D=8, rotary_dim=4 < D, n_inner null (-> 4E), 2 layers
  b: E=64, H=8 (two heads per mp chunk), D=8, rotary_dim=8 == D, n_inner=96, 2 layers
both with vocab_size=330 (not a multiple of 64), n_positions=64, non-zero biases, LayerNorm weights
!= 1. Each is written as Hugging Face folders in the three layouts, weights fp32 or fp16:
  a_f32_bin (pytorch_model.bin), a_f32_safetensors, a_f16_sharded,
  b_f32_sharded, b_f16_bin, b_f16_safetensors
(every layout appears with both dtypes). .bin files are torch.save'd state dicts WITH the uint8
attn.causal_mask buffers; the sharded layout is two .bin shards + pytorch_model.bin.index.json;
model.safetensors is written by hand (u64 header length + JSON header + raw data).

Tokenizer files: a synthetic GPT-2-style byte-level vocabulary (256 byte tokens in GPT-2 order, a
few merges, <|endoftext|> as the last vocab entry) and the 43 MOSS added tokens with ids laid out as
in spec 2.1 (first added id = len(vocab)), so len(tokenizer) = 310 <= vocab_size = 330.

Expected outputs (from tools/reference_moss.py in float64 on the stored weights, i.e. fp16 weights
are promoted and computed in f64, as the CPU engine computes in fp32 from the fp16 values):
  prefill logits at every position of a 7-token prompt (plus one 60-token prefill of config b
  with rotary variant B, case b_f32_rope_fp16), then 4 single-token decode steps through the
  cache, and a greedy continuation (argmax; stops after eos) of up to 8 tokens; raw little-endian f32
  / i32 files in expected/ plus manifest.json.
"""
import json
import os
import shutil
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_moss import MossReference  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "models")

CONFIGS = {
    "a": dict(n_embd=32, n_head=4, rotary_dim=4, n_inner=None, n_layer=2, seed=1),
    "b": dict(n_embd=64, n_head=8, rotary_dim=8, n_inner=96, n_layer=2, seed=2),
}
FOLDERS = [("a", "f32", "bin"), ("a", "f32", "safetensors"), ("a", "f16", "sharded"),
           ("b", "f32", "sharded"), ("b", "f16", "bin"), ("b", "f16", "safetensors")]
VOCAB_ROWS = 330
N_POS = 64
MERGES = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "Ġ s", "r e", "Ġ w"]


def bytes_to_unicode():
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
    vocab = {}
    for ch in bytes_to_unicode().values():
        vocab[ch] = len(vocab)
    for m in MERGES:
        vocab[m.replace(" ", "")] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    base = len(vocab)
    added = {}
    for n in range(2, 32):
        added[" " * n] = base + 31 - n
    for n in range(2, 10):
        added["\t" * n] = base + 30 + 9 - n
    for i, t in enumerate(["<eoh>", "<eom>", "<eot>", "<eoc>", "<eor>"]):
        added[t] = base + 38 + i
    n_tokens = base + len(added)
    assert n_tokens <= VOCAB_ROWS
    special = {
        "additional_special_tokens": [
            {"content": t, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
            for t in ["<eoh>", "<eom>", "<eot>", "<eoc>", "<eor>"]],
        "bos_token": "<|endoftext|>",
        "eos_token": {"content": "<eom>", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
        "unk_token": "<|endoftext|>",
    }
    tok_config = {
        "add_bos_token": False, "add_prefix_space": False, "bos_token": "<|endoftext|>",
        "eos_token": "<eom>", "errors": "replace", "model_max_length": N_POS, "pad_token": None,
        "tokenizer_class": "MossTokenizer", "unk_token": "<|endoftext|>",
    }
    files = {
        "vocab.json": json.dumps(vocab, ensure_ascii=False),
        "merges.txt": "#version: 0.2\n" + "".join(m + "\n" for m in MERGES),
        "added_tokens.json": json.dumps(dict(sorted(added.items())), ensure_ascii=False, indent=2),
        "special_tokens_map.json": json.dumps(special, indent=2),
        "tokenizer_config.json": json.dumps(tok_config, indent=2),
    }
    return files, vocab["<|endoftext|>"], added["<eom>"], n_tokens


def make_state_dict(c):
    g = torch.Generator().manual_seed(c["seed"])
    E, L = c["n_embd"], c["n_layer"]
    F = c["n_inner"] or 4 * E

    def randn(*shape, std=1.0):
        return torch.randn(*shape, generator=g, dtype=torch.float64).mul(std).to(torch.float32)

    sd = {"transformer.wte.weight": randn(VOCAB_ROWS, E)}
    for l in range(L):
        p = "transformer.h.%d." % l
        sd[p + "ln_1.weight"] = 1.0 + randn(E, std=0.1)
        sd[p + "ln_1.bias"] = randn(E, std=0.1)
        sd[p + "attn.causal_mask"] = torch.tril(torch.ones(N_POS, N_POS, dtype=torch.uint8)).view(1, 1, N_POS, N_POS)
        sd[p + "attn.qkv_proj.weight"] = randn(3 * E, E, std=E ** -0.5)
        sd[p + "attn.out_proj.weight"] = randn(E, E, std=E ** -0.5)
        sd[p + "mlp.fc_in.weight"] = randn(F, E, std=E ** -0.5)
        sd[p + "mlp.fc_in.bias"] = randn(F, std=0.1)
        sd[p + "mlp.fc_out.weight"] = randn(E, F, std=F ** -0.5)
        sd[p + "mlp.fc_out.bias"] = randn(E, std=0.1)
    sd["transformer.ln_f.weight"] = 1.0 + randn(E, std=0.1)
    sd["transformer.ln_f.bias"] = randn(E, std=0.1)
    sd["lm_head.weight"] = randn(VOCAB_ROWS, E, std=E ** -0.5)
    sd["lm_head.bias"] = randn(VOCAB_ROWS, std=0.1)
    return sd


def config_json(c, bos, eos, dtype):
    return {
        "architectures": ["MossForCausalLM"], "model_type": "moss", "activation_function": "gelu_new",
        "vocab_size": VOCAB_ROWS, "n_positions": N_POS, "n_ctx": N_POS, "n_embd": c["n_embd"],
        "n_layer": c["n_layer"], "n_head": c["n_head"], "rotary_dim": c["rotary_dim"], "n_inner": c["n_inner"],
        "layer_norm_epsilon": 1e-05, "initializer_range": 0.02, "resid_pdrop": 0.0, "embd_pdrop": 0.0,
        "attn_pdrop": 0.0, "use_cache": True, "bos_token_id": bos, "eos_token_id": eos,
        "tie_word_embeddings": False, "torch_dtype": "float32" if dtype == "f32" else "float16",
        "transformers_version": "4.25.1",
    }


def write_safetensors(path, sd):
    names = [k for k in sd if not k.endswith("causal_mask")]
    header, blobs, off = {}, [], 0
    st_dtype = {torch.float32: "F32", torch.float16: "F16"}
    for k in names:
        t = sd[k].contiguous()
        b = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[k] = {"dtype": st_dtype[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_weights(folder, sd, layout):
    if layout == "bin":
        torch.save(sd, os.path.join(folder, "pytorch_model.bin"))
    elif layout == "safetensors":
        write_safetensors(os.path.join(folder, "model.safetensors"), sd)
    else:  # two shards + index, split in the middle of the layer list
        keys = list(sd)
        half = len(keys) // 2
        shards = [keys[:half], keys[half:]]
        weight_map, total = {}, 0
        for i, ks in enumerate(shards):
            name = "pytorch_model-%05d-of-%05d.bin" % (i + 1, len(shards))
            torch.save({k: sd[k] for k in ks}, os.path.join(folder, name))
            for k in ks:
                weight_map[k] = name
                total += sd[k].numel() * sd[k].element_size()
        with open(os.path.join(folder, "pytorch_model.bin.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def write_raw(path, array, dtype):
    np.asarray(array, dtype=dtype).astype(np.dtype(dtype).newbyteorder("<")).tofile(path)


def main():
    tok_files, bos, eos, n_tokens = tokenizer_files()
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(os.path.join(ROOT, "expected"))
    manifest = {"generator": "tools/make_model_fixtures.py", "reference": "tools/reference_moss.py (float64)",
                "n_vocab": VOCAB_ROWS, "n_tokens": n_tokens, "bos": bos, "eos": eos, "folders": [], "cases": {}}
    rng = np.random.RandomState(1234)
    cases = {}
    for name, c in CONFIGS.items():
        sd32 = make_state_dict(c)
        for dtype in ("f32", "f16"):
            sd = {k: (v.half() if dtype == "f16" and v.dtype == torch.float32 else v) for k, v in sd32.items()}
            cfg = dict(c, n_positions=N_POS, layer_norm_epsilon=1e-5)
            ref = MossReference(sd, cfg, torch.float64)
            ref32 = MossReference(sd, cfg, torch.float32)
            prompt = [int(i) for i in rng.randint(0, n_tokens, size=7)]
            decode = [int(i) for i in rng.randint(0, n_tokens, size=4)]
            pre_logits, past = ref(prompt)
            pre32, _ = ref32(prompt)
            dec_rows = []
            for t in decode:
                lg, past = ref([t], past)
                dec_rows.append(lg[0])
            greedy, margin = ref.greedy(prompt, 8, stop_id=eos)
            assert margin > 1e-3, "near-tie in greedy argmax; pick another seed"
            case = "%s_%s" % (name, dtype)
            base = os.path.join(ROOT, "expected", case)
            write_raw(base + "_prefill.f32", pre_logits.numpy(), np.float32)
            write_raw(base + "_decode.f32", torch.stack(dec_rows).numpy(), np.float32)
            cases[case] = {
                "prompt": prompt, "prefill_logits": "expected/%s_prefill.f32" % case,
                "decode_ids": decode, "decode_logits": "expected/%s_decode.f32" % case,
                "greedy_n": 8, "greedy_ids": greedy, "greedy_min_margin": margin,
                "max_abs_logit": float(pre_logits.abs().max()),
                "f32_reference_max_abs_diff": float((pre32.double() - pre_logits).abs().max()),
            }
            for (fname, fdtype, layout) in FOLDERS:
                if fname != name or fdtype != dtype:
                    continue
                folder_name = "%s_%s_%s" % (name, dtype, layout)
                folder = os.path.join(ROOT, folder_name)
                os.makedirs(folder)
                for fn, text in tok_files.items():
                    with open(os.path.join(folder, fn), "w", encoding="utf-8") as f:
                        f.write(text)
                with open(os.path.join(folder, "config.json"), "w") as f:
                    json.dump(config_json(c, bos, eos, dtype), f, indent=2)
                write_weights(folder, sd, layout)
                manifest["folders"].append({"folder": folder_name, "case": case, "layout": layout, "dtype": dtype})
    # Rotary variant B (spec 1.5, fp16-rounded inv_freq; the int4/int8 checkpoints): config b's fp32
    # weights with a 60-token prompt (positions up to 59, where the variants' angles differ most).
    # The C++ test switches moss.rope.inv_freq_variant to "fp16" on the b_f32_sharded folder.
    sd = make_state_dict(CONFIGS["b"])
    cfg = dict(CONFIGS["b"], n_positions=N_POS, layer_norm_epsilon=1e-5)
    prompt = [int(i) for i in rng.randint(0, n_tokens, size=60)]
    lb, _ = MossReference(sd, cfg, torch.float64, rope_variant="fp16")(prompt)
    la, _ = MossReference(sd, cfg, torch.float64, rope_variant="fp32")(prompt)
    write_raw(os.path.join(ROOT, "expected", "b_f32_rope_fp16_prefill.f32"), lb.numpy(), np.float32)
    cases["b_f32_rope_fp16"] = {
        "folder": "b_f32_sharded", "rope_variant": "fp16", "prompt": prompt,
        "prefill_logits": "expected/b_f32_rope_fp16_prefill.f32",
        "variant_a_max_abs_diff": float((la - lb).abs().max()),
    }
    manifest["cases"] = cases
    with open(os.path.join(ROOT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(ROOT) for f in fs)
    print("wrote %s (%d bytes)" % (ROOT, total))
    print("rope variant A vs B on the 60-token prompt: max |dlogit| %.2e" % cases["b_f32_rope_fp16"]["variant_a_max_abs_diff"])
    for k, v in cases.items():
        if "greedy_ids" not in v:
            continue
        print(k, "max|logit| %.3f  f32-ref diff %.2e  greedy %s margin %.4f" % (
            v["max_abs_logit"], v["f32_reference_max_abs_diff"], v["greedy_ids"], v["greedy_min_margin"]))


if __name__ == "__main__":
    main()
