#!/usr/bin/python3
"""Writes tiny GPTQ MOSS folders under tests/fixtures/formats/ (run with /usr/bin/python3, torch):
gptq_int4/ (wbits 4) and gptq_int8/ (wbits 8), plus gptq_expected.json and gptq_*_prefill.f32.

Layout of the released moss-moon-003-sft-int4/-int8 (spec moss-003.md §3): every block Linear
(qkv_proj, out_proj, fc_in, fc_out) is a QuantLinear with qweight [K/p, N] i32, qzeros [G, N/p] i32,
scales [G, N] f16, g_idx [K] i32 (+ fp16 bias for fc_in/fc_out); wte, LayerNorms, lm_head stay fp16;
attn.causal_mask uint8 buffers are kept. config.json has wbits and groupsize.

Tiny config: E=64, H=8 (2 heads per mp chunk), D=8, rotary_dim=8, n_inner=64, 2 layers (int8: 1, to keep
the fixtures under 300 KB), vocab 320,
groupsize 32 (real files: 128) so every K=64 has 2 groups. Weights are random, quantized
GPTQ-style per (group, output): int4 asymmetric (scale = (max-min)/15 rounded to fp16, zero =
round(-min/scale) clamped to [1, 15]); int8 symmetric (zero 128, scale = max|w|/127) so q - z fits
int8. g_idx is the trivial k div groupsize everywhere EXCEPT int4 layer 1 fc_out, which uses an
act-order g_idx (groups of a random permutation of the inputs; the importer must then fall back to
fp16 since 32-input blocks mix groups). Packing per spec §3.3, stored zero = zero - 1.

Expected (gptq_expected.json), per folder:
  * canonical: for each canonical Linear weight (after the q/v/k un-fusing of spec 1.4), its type
    ("q8_0" exact s*(q-z), or "f16" = fp16(s*(q-z))) and the FNV-1a 64 hash of its dequantized values
    as little-endian float32 [N, K] (s*(q-z) is exact in float32: 11-bit scale times a <= 9-bit int).
  * prefill logits (last 8 positions) of a 60-token prompt from tools/reference_moss.py in float64 on the dequantized
    weights (what the canonical weights hold), rotary variant B (spec 1.5).
  * actq_max_abs_diff: how far the same reference moves when the inputs of every q8_0-stored Linear
    are quantized per 32 values to int8 with d = amax/127, as the engine's q8_0 matmul does
    (src/kernels/matmul.h); the C++ test derives its tolerance for the folder from it.
  * variant_a_max_abs_diff: logits with rotary variant A instead, to show the test can see it.
"""
import json
import os
import shutil
import sys

import numpy as np
import torch

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
from reference_moss import MossReference  # noqa: E402

REPO = os.path.join(TOOLS, "..")
OUT = os.path.join(REPO, "tests", "fixtures", "formats")
TOK_SRC = os.path.join(REPO, "tests", "fixtures", "models", "a_f32_bin")
TOK_FILES = ["vocab.json", "merges.txt", "added_tokens.json", "special_tokens_map.json", "tokenizer_config.json"]

E, H, R, F, L, V, NPOS, GS = 64, 8, 8, 64, 2, 320, 64, 32
N_TOKENS = 310  # len(tokenizer) of the copied tokenizer files (tools/make_model_fixtures.py)
PROMPT_LEN = 60  # positions up to 59, where rotary variants A and B differ most (spec 1.5)
KEEP_ROWS = 8  # logits of the last 8 positions are stored (fixture size)


def quantize(w, bits, g_idx, gen):
    """w [N, K] float64 -> (qweight, qzeros, scales, g_idx) tensors and the dequantized [N, K]."""
    N, K = w.shape
    G = (K + GS - 1) // GS
    maxq = 2 ** bits - 1
    p = 32 // bits
    scales = torch.zeros(G, N, dtype=torch.float16)
    zeros = torch.zeros(G, N, dtype=torch.int64)
    q = torch.zeros(N, K, dtype=torch.int64)
    for g in range(G):
        cols = (g_idx == g).nonzero().flatten()
        wg = w[:, cols]
        if bits == 4:
            lo = torch.clamp(wg.min(dim=1).values, max=0.0)
            hi = torch.clamp(wg.max(dim=1).values, min=0.0)
            s = ((hi - lo) / maxq).half()
            z = torch.clamp(torch.round(-lo / s.double()), 1, maxq).long()
        else:
            s = (wg.abs().max(dim=1).values / 127).half()
            z = torch.full((N,), 128, dtype=torch.int64)
        scales[g] = s
        zeros[g] = z
        q[:, cols] = torch.clamp(torch.round(wg / s.double()[:, None]) + z[:, None], 0, maxq).long()
    # Pack (spec §3.3) on uint32, stored as int32.
    qt = q.t().numpy().astype(np.uint64)  # [K, N]
    qweight = np.zeros((K // p, N), dtype=np.uint64)
    for t in range(p):
        qweight |= qt[t::p] << np.uint64(bits * t)
    zs = (zeros.numpy() - 1).astype(np.uint64)  # stored value is zero - 1
    qzeros = np.zeros((G, N // p), dtype=np.uint64)
    for t in range(p):
        qzeros |= zs[:, t::p] << np.uint64(bits * t)
    as_i32 = lambda a: torch.from_numpy(a.astype(np.uint32).view(np.int32).copy())  # noqa: E731
    deq = scales.double()[g_idx].t() * (q - zeros[g_idx].t()).double()  # [N, K], exact
    return {"qweight": as_i32(qweight), "qzeros": as_i32(qzeros), "scales": scales,
            "g_idx": g_idx.to(torch.int32)}, deq


def fnv1a64(b):
    h = 0xcbf29ce484222325
    for byte in b:
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def unfuse_qkv(w):
    """Spec 1.4: fused [3E, E] rows (mp_num 4 chunks of q, v, k) -> Q, K, V rows (head h*D + d)."""
    D, local, hpc = E // H, E // 4, H // 4
    q, k, v = [], [], []
    for h in range(H):
        m, j = h // hpc, h % hpc
        base = m * 3 * local + j * D
        q.append(w[base:base + D])
        v.append(w[base + local:base + local + D])
        k.append(w[base + 2 * local:base + 2 * local + D])
    return torch.cat(q + k + v)


class ActQ(torch.Tensor):
    """A weight whose matmul quantizes its input per 32 values to int8 with d = amax/127 (the
    engine's q8_0 kernels, src/kernels/matmul.h)."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("__matmul__", "matmul") and isinstance(args[1], ActQ) and not isinstance(args[0], ActQ):
            x = args[0].as_subclass(torch.Tensor)
            xb = x.reshape(*x.shape[:-1], -1, 32)
            d = xb.abs().amax(dim=-1, keepdim=True) / 127
            xq = torch.where(d > 0, torch.round(xb / torch.where(d > 0, d, torch.ones_like(d))) * d, xb * 0)
            return xq.reshape(x.shape) @ args[1].as_subclass(torch.Tensor)
        return super().__torch_function__(func, types, args, kwargs)


def main():
    gen = torch.Generator().manual_seed(7)

    def randn(*shape, std=1.0):
        return torch.randn(*shape, generator=gen, dtype=torch.float64) * std

    fp = {"transformer.wte.weight": randn(V, E).half(), "transformer.ln_f.weight": (1 + randn(E, std=0.1)).half(),
          "transformer.ln_f.bias": randn(E, std=0.1).half(), "lm_head.weight": randn(V, E, std=E ** -0.5).half(),
          "lm_head.bias": randn(V, std=0.1).half()}
    lin_w = {}
    for l in range(L):
        pre = "transformer.h.%d." % l
        fp[pre + "ln_1.weight"] = (1 + randn(E, std=0.1)).half()
        fp[pre + "ln_1.bias"] = randn(E, std=0.1).half()
        fp[pre + "mlp.fc_in.bias"] = randn(F, std=0.1).half()
        fp[pre + "mlp.fc_out.bias"] = randn(E, std=0.1).half()
        lin_w[pre + "attn.qkv_proj"] = randn(3 * E, E, std=E ** -0.5)
        lin_w[pre + "attn.out_proj"] = randn(E, E, std=E ** -0.5)
        lin_w[pre + "mlp.fc_in"] = randn(F, E, std=E ** -0.5)
        lin_w[pre + "mlp.fc_out"] = randn(E, F, std=F ** -0.5)
    canon = {"attn.qkv_proj": "attn_qkv", "attn.out_proj": "attn_output", "mlp.fc_in": "ffn_up",
             "mlp.fc_out": "ffn_down"}
    prompt = [int(i) for i in torch.randint(0, N_TOKENS, (PROMPT_LEN,), generator=gen)]
    cfg = dict(n_embd=E, n_head=H, rotary_dim=R, n_layer=L, n_positions=NPOS, layer_norm_epsilon=1e-5)
    with open(os.path.join(TOK_SRC, "config.json")) as f:
        base_cfg = json.load(f)
    expected = {"generator": "tools/make_gptq_fixtures.py", "n_vocab": V, "prompt": prompt, "folders": {}}
    for bits in (4, 8):
        folder = "gptq_int%d" % bits
        path = os.path.join(OUT, folder)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        # int8 keeps only block 0 (fixture size); int4 has both blocks.
        n_layer = L if bits == 4 else 1
        keep = lambda n: not n.startswith("transformer.h.") or int(n.split(".")[2]) < n_layer  # noqa: E731
        fpl = {k: v for k, v in fp.items() if keep(k)}
        sd, ref_sd, actq_sd, canonical = {}, {}, {}, {}
        for name, w in lin_w.items():
            if not keep(name):
                continue
            K = w.shape[1]
            g_idx = torch.arange(K) // GS
            act_order = bits == 4 and name == "transformer.h.1.mlp.fc_out"
            if act_order:
                g_idx = torch.argsort(torch.randperm(K, generator=gen)) // GS
            t, deq = quantize(w, bits, g_idx, gen)
            for k, v in t.items():
                sd[name + "." + k] = v
            # q8_0 holds s*(q-z) exactly; fp16 storage (act-order) rounds it once to fp16.
            stored = deq.half().double() if act_order else deq
            ref_sd[name + ".weight"] = stored
            actq_sd[name + ".weight"] = stored if act_order else stored.as_subclass(ActQ)
            cw = unfuse_qkv(stored) if name.endswith("qkv_proj") else stored
            layer, sub = name.split(".")[2], name.split(".", 3)[3]
            canonical["blk.%s.%s.weight" % (layer, canon[sub])] = {
                "type": "f16" if act_order else "q8_0",
                "fnv1a64_f32": fnv1a64(cw.to(torch.float32).numpy().astype("<f4").tobytes()),
                "first_row_f32": [float(x) for x in cw[0, :8].to(torch.float32)]}
        for l in range(n_layer):
            sd["transformer.h.%d.attn.causal_mask" % l] = torch.tril(torch.ones(NPOS, NPOS, dtype=torch.uint8)).view(
                1, 1, NPOS, NPOS)
        sd.update(fpl)
        torch.save(sd, os.path.join(path, "pytorch_model.bin"))
        for fn in TOK_FILES:
            shutil.copy(os.path.join(TOK_SRC, fn), os.path.join(path, fn))
        c = dict(base_cfg, vocab_size=V, n_positions=NPOS, n_ctx=NPOS, n_embd=E, n_head=H, rotary_dim=R, n_inner=F,
                 n_layer=n_layer, torch_dtype="float16", wbits=bits, groupsize=GS)
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(c, f, indent=2)
        ref_sd.update(fpl)
        actq_sd.update(fpl)
        cfg = dict(cfg, n_layer=n_layer)
        ref, _ = MossReference(ref_sd, cfg, torch.float64, rope_variant="fp16")(prompt)
        refq, _ = MossReference(actq_sd, cfg, torch.float64, rope_variant="fp16")(prompt)
        refa, _ = MossReference(ref_sd, cfg, torch.float64, rope_variant="fp32")(prompt)
        logits_file = "gptq_int%d_prefill.f32" % bits
        ref[-KEEP_ROWS:].to(torch.float32).numpy().astype("<f4").tofile(os.path.join(OUT, logits_file))
        expected["folders"][folder] = {
            "wbits": bits, "n_layer": n_layer, "canonical": canonical, "prefill_logits": logits_file, "logit_rows": KEEP_ROWS,
            "max_abs_logit": float(ref.abs().max()),
            "actq_max_abs_diff": float((refq.as_subclass(torch.Tensor) - ref).abs().max()),
            "variant_a_max_abs_diff": float((refa - ref).abs().max())}
        print(folder, {k: v for k, v in expected["folders"][folder].items() if k != "canonical"})
    with open(os.path.join(OUT, "gptq_expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs
                if "gptq" in os.path.relpath(os.path.join(d, f), OUT))
    print("gptq fixtures: %d bytes" % total)


if __name__ == "__main__":
    main()
