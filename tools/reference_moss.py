#!/usr/bin/python3
"""Reference MOSS-003 forward pass written from the spec (shared/spec/moss-003.md section 1), in torch.

It works on the ORIGINAL Hugging Face state dict (fused `qkv_proj` in the mp_num = 4 q/v/k order of
spec 1.4), so fixtures made with it independently check the converter's row permutation.

Numerics: every value is computed in `dtype` (torch.float32 or torch.float64) from the stored
weights promoted to that dtype. For fp16-stored weights this is the fp16 values computed in fp32/f64,
which is what the C++ CPU engine does; the fp16 rounding of activations that the GPU reference does
(spec 1.6/1.7) is deliberately NOT emulated.

Usage as a library:  model = MossReference(state_dict, config, dtype); logits, past = model(ids, past)
"""
import math

import torch


def inv_freq_variant_a(rotary_dim, base=10000.0):
    """Spec 1.5 variant A: float32(1 / float32(base ** float32(2i / R)))."""
    x = torch.arange(0, rotary_dim, 2, dtype=torch.int64) / rotary_dim  # float32 true division
    return (1.0 / (base ** x.to(torch.float32))).to(torch.float32)


def inv_freq_variant_b(rotary_dim, base=10000.0):
    """Spec 1.5 variant B: each step rounded to fp16 (2i/R, base**x, 1/that)."""
    x = (torch.arange(0, rotary_dim, 2, dtype=torch.int64).to(torch.float32) / rotary_dim).half()
    p = (base ** x.float()).half()
    return (1.0 / p.float()).half().float()


def sin_cos_table(n_pos, inv_freq):
    """[n_pos, R/2] sin and cos of the angle p * inv_freq computed in float32 (spec 1.5)."""
    pos = torch.arange(n_pos, dtype=torch.float32)
    ang = pos[:, None] * inv_freq[None, :].to(torch.float32)
    return torch.sin(ang), torch.cos(ang)


def rotate_every_two(x):
    x1 = x[..., ::2]
    x2 = x[..., 1::2]
    return torch.stack((-x2, x1), dim=-1).flatten(-2)


def apply_rotary(x, sin, cos):
    """x [T, H, R]; sin/cos [T, R/2]: GPT-J interleaved pairs (2i, 2i+1) share angle i."""
    sin = torch.repeat_interleave(sin[:, None, :], 2, dim=2)
    cos = torch.repeat_interleave(cos[:, None, :], 2, dim=2)
    return (x * cos) + (rotate_every_two(x) * sin)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class MossReference:
    def __init__(self, sd, cfg, dtype=torch.float64, rope_variant="fp32"):
        self.cfg = cfg
        self.dtype = dtype
        self.E = cfg["n_embd"]
        self.H = cfg["n_head"]
        self.D = self.E // self.H
        self.R = cfg["rotary_dim"]
        self.L = cfg["n_layer"]
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        self.w = {k: v.to(dtype) for k, v in sd.items() if not k.endswith("causal_mask")}
        inv = inv_freq_variant_a(self.R) if rope_variant == "fp32" else inv_freq_variant_b(self.R)
        # The table stays float32 as in the reference (a plain attribute, spec 1.5); rotated values
        # are then computed in self.dtype.
        self.sin, self.cos = sin_cos_table(cfg["n_positions"], inv)

    def split_qkv(self, qkv):
        """Spec 1.4: [T, 3E] -> q, k, v each [T, H, D], from the fused mp_num = 4 q/v/k layout."""
        T = qkv.shape[0]
        mp = 4
        local = self.E // mp
        chunks = qkv.reshape(T, mp, 3 * local)
        q = chunks[..., :local]
        v = chunks[..., local:2 * local]
        k = chunks[..., 2 * local:]

        def heads(x):  # [T, mp, local] -> [T, mp, H/mp, D] -> [T, H, D]: head h = (H/mp)*m + j
            return x.reshape(T, mp, self.H // mp, self.D).reshape(T, self.H, self.D)

        return heads(q), heads(k), heads(v)

    def layer_norm(self, x, prefix):
        return torch.nn.functional.layer_norm(x, (self.E,), self.w[prefix + ".weight"], self.w[prefix + ".bias"],
                                              self.eps)

    def __call__(self, ids, past=None):
        """ids: list of T token ids for ONE sequence; past: list per layer of (k [P,H,D], v [P,H,D]).
        Returns logits [T, V] (self.dtype) and the new past."""
        T = len(ids)
        P = 0 if past is None else past[0][0].shape[0]
        if P + T > self.cfg["n_positions"]:
            raise ValueError("positions beyond n_positions")
        pos = torch.arange(P, P + T)
        sin = self.sin[pos].to(self.dtype)
        cos = self.cos[pos].to(self.dtype)
        x = self.w["transformer.wte.weight"][torch.tensor(ids, dtype=torch.long)]
        new_past = []
        S = P + T
        # causal: query i (position P+i) sees keys j <= P+i
        mask = torch.arange(S)[None, :] <= (P + torch.arange(T))[:, None]
        for l in range(self.L):
            pre = "transformer.h.%d." % l
            residual = x
            h = self.layer_norm(x, pre + "ln_1")
            qkv = h @ self.w[pre + "attn.qkv_proj.weight"].T
            q, k, v = self.split_qkv(qkv)
            q = torch.cat([apply_rotary(q[..., :self.R], sin, cos), q[..., self.R:]], dim=-1)
            k = torch.cat([apply_rotary(k[..., :self.R], sin, cos), k[..., self.R:]], dim=-1)
            if past is not None:
                k = torch.cat([past[l][0], k], dim=0)
                v = torch.cat([past[l][1], v], dim=0)
            new_past.append((k, v))
            # scores [H, T, S]
            scores = torch.einsum("thd,shd->hts", q, k) / math.sqrt(self.D)
            scores = scores.masked_fill(~mask[None], float("-inf"))
            probs = torch.softmax(scores, dim=-1)
            a = torch.einsum("hts,shd->thd", probs, v).reshape(T, self.E)
            attn_out = a @ self.w[pre + "attn.out_proj.weight"].T
            up = h @ self.w[pre + "mlp.fc_in.weight"].T + self.w[pre + "mlp.fc_in.bias"]
            ff = gelu_new(up) @ self.w[pre + "mlp.fc_out.weight"].T + self.w[pre + "mlp.fc_out.bias"]
            x = (attn_out + ff) + residual
        x = self.layer_norm(x, "transformer.ln_f")
        logits = x @ self.w["lm_head.weight"].T + self.w["lm_head.bias"]
        return logits, new_past

    def greedy(self, prompt, n, stop_id=None):
        """Greedy continuation through the cache (argmax, first index on ties), stopping after
        stop_id. Returns (ids, min top-1/top-2 margin seen) so callers can reject near-ties."""
        logits, past = self(prompt)
        out = []
        margin = float("inf")
        last = logits[-1]
        for _ in range(n):
            top = torch.topk(last, 2).values
            margin = min(margin, float(top[0] - top[1]))
            nxt = int(torch.argmax(last))
            out.append(nxt)
            if stop_id is not None and nxt == stop_id:
                break
            logits, past = self([nxt], past)
            last = logits[-1]
        return out, margin
