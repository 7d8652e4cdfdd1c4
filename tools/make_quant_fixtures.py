#!/usr/bin/python3
"""Writes tests/fixtures/quant/: a fixed float32 input and its q8_0 / q4_0 / q4_k encodings, and tiny
synthetic GPTQ layers (packed as in spec moss-003.md §3.3) with the fp16 weights the Triton kernel
computes from them (§3.4).

The quantizers below are re-implemented from /work/shared/spec/gguf.md (ggml-quants.c's *_ref
functions), independently of the C++ code, in float32 arithmetic step by step (numpy float32
scalars) so that the bytes match ggml's. Run with /usr/bin/python3 (needs numpy and torch):
    /usr/bin/python3 tools/make_quant_fixtures.py
"""
import os
import struct

import numpy as np
import torch

F = np.float32
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "quant")


def f16_bits(v):
    return int(np.array([v], dtype=np.float32).astype(np.float16).view(np.uint16)[0])


def f16_val(v):
    return F(np.float16(F(v)))


def roundf(v):
    # C roundf: half away from zero. Done in float64, where |v| + 0.5 is exact for a float32 v.
    a = np.floor(abs(float(v)) + 0.5)
    return -a if v < 0 else a


def q8_0(x):
    out = bytearray()
    for b in range(0, len(x), 32):
        blk = x[b:b + 32]
        amax = F(0)
        for v in blk:
            amax = max(amax, F(abs(v)))
        d = F(amax / F(127))
        idv = F(F(1) / d) if d != 0 else F(0)
        out += struct.pack("<H", f16_bits(d))
        out += bytes(int(roundf(F(v * idv))) & 0xFF for v in blk)
    return bytes(out)


def q4_0(x):
    out = bytearray()
    for b in range(0, len(x), 32):
        blk = x[b:b + 32]
        amax, mx = F(0), F(0)
        for v in blk:
            if amax < abs(v):
                amax, mx = F(abs(v)), v
        d = F(mx / F(-8))
        idv = F(F(1) / d) if d != 0 else F(0)
        q = [min(15, int(np.trunc(F(F(v * idv) + F(8.5))))) for v in blk]
        out += struct.pack("<H", f16_bits(d))
        out += bytes(q[j] | (q[j + 16] << 4) for j in range(16))
    return bytes(out)


def nearest_int(v):
    # round half to even (the 1.5*2^23 trick of ggml)
    return int(np.round(np.float64(v)))


def make_qkx2_quants(x, w, nmax=15, rmin=F(-1), rdelta=F(0.1), nstep=20):
    n = len(x)
    mn, mx = x[0], x[0]
    sum_w = w[0]
    sum_x = F(sum_w * x[0])
    for i in range(1, n):
        if x[i] < mn:
            mn = x[i]
        if x[i] > mx:
            mx = x[i]
        sum_w = F(sum_w + w[i])
        sum_x = F(sum_x + F(w[i] * x[i]))
    if mn > 0:
        mn = F(0)
    if mx == mn:
        return F(0), F(-mn), [0] * n
    iscale = F(F(nmax) / F(mx - mn))
    scale = F(F(1) / iscale)
    L = [0] * n
    best = F(0)
    for i in range(n):
        l = nearest_int(F(iscale * F(x[i] - mn)))
        L[i] = max(0, min(nmax, l))
        diff = F(F(F(scale * F(L[i])) + mn) - x[i])
        best = F(best + F(w[i] * F(diff * diff)))
    for s in range(nstep + 1):
        iscale = F(F(F(rmin + F(rdelta * F(s))) + F(nmax)) / F(mx - mn))
        sl, sl2, sxl = F(0), F(0), F(0)
        Laux = [0] * n
        for i in range(n):
            l = max(0, min(nmax, nearest_int(F(iscale * F(x[i] - mn)))))
            Laux[i] = l
            wl = F(w[i] * F(l))
            sl = F(sl + wl)
            sl2 = F(sl2 + F(wl * F(l)))
            sxl = F(sxl + F(wl * x[i]))
        D = F(F(sum_w * sl2) - F(sl * sl))
        if D > 0:
            this_scale = F(F(F(sum_w * sxl) - F(sum_x * sl)) / D)
            this_min = F(F(F(sl2 * sum_x) - F(sl * sxl)) / D)
            if this_min > 0:
                this_min = F(0)
                this_scale = F(sxl / sl2)
            mad = F(0)
            for i in range(n):
                diff = F(F(F(this_scale * F(Laux[i])) + this_min) - x[i])
                mad = F(mad + F(w[i] * F(diff * diff)))
            if mad < best:
                L, best, scale, mn = list(Laux), mad, this_scale, this_min
    return scale, F(-mn), L


def q4_k(x):
    out = bytearray()
    for b in range(0, len(x), 256):
        blk = x[b:b + 256]
        scales, mins, L = [], [], []
        for j in range(8):
            sub = blk[32 * j:32 * j + 32]
            s2 = F(0)
            for v in sub:
                s2 = F(s2 + F(v * v))
            av = F(np.sqrt(F(s2 / F(32))))
            w = [F(av + F(abs(v))) for v in sub]
            sc, m, l = make_qkx2_quants(sub, w)
            scales.append(sc)
            mins.append(m)
            L += l
        max_scale = max([F(0)] + [s for s in scales if s > 0])
        max_min = max([F(0)] + [m for m in mins if m > 0])
        inv_s = F(F(63) / max_scale) if max_scale > 0 else F(0)
        inv_m = F(F(63) / max_min) if max_min > 0 else F(0)
        ls = [min(63, nearest_int(F(inv_s * s)) & 0xFF) for s in scales]
        lm = [min(63, nearest_int(F(inv_m * m)) & 0xFF) for m in mins]
        # 12 packed bytes (spec: get_scale_min_k4 is the inverse of this)
        sb = [0] * 12
        for j in range(8):
            if j < 4:
                sb[j] = ls[j]
                sb[j + 4] = lm[j]
            else:
                sb[j + 4] = (ls[j] & 0xF) | ((lm[j] & 0xF) << 4)
                sb[j - 4] |= (ls[j] >> 4) << 6
                sb[j] |= (lm[j] >> 4) << 6
        d = f16_val(F(max_scale / F(63)))
        dmin = f16_val(F(max_min / F(63)))
        for j in range(8):
            dj = F(d * F(ls[j]))
            if dj == 0:
                continue
            dm = F(dmin * F(lm[j]))
            for i in range(32):
                L[32 * j + i] = max(0, min(15, nearest_int(F(F(blk[32 * j + i] + dm) / dj))))
        out += struct.pack("<HH", f16_bits(d), f16_bits(dmin)) + bytes(sb)
        for c in range(4):
            out += bytes(L[64 * c + l] | (L[64 * c + 32 + l] << 4) for l in range(32))
    return bytes(out)


def make_input():
    torch.manual_seed(20230421)
    rows = [
        torch.randn(512),                       # typical weights
        torch.rand(512) * 0.5 + 0.01,           # all positive: q4_k min clamps to 0
        torch.randn(512) * 0.02,                # small magnitudes (fp16 scale precision)
        torch.randn(512),
    ]
    rows[3][::37] *= 25.0                       # outliers
    rows[3][256:288] = 0.0                      # an all-zero block / sub-block
    rows[3][320:352] = 0.75                     # a constant sub-block
    return torch.stack(rows).numpy().astype(np.float32)


def gptq_case(name, bits, K, N, zlo, zhi, act_order, seed):
    """Packs random q/z/scales as the GPTQ checkpoints do and writes the expected W [N, K] fp16."""
    g = torch.Generator().manual_seed(seed)
    p, maxq, G = 32 // bits, (1 << bits) - 1, (K + 127) // 128
    q = torch.randint(0, maxq + 1, (K, N), generator=g, dtype=torch.int64)
    z = torch.randint(zlo, zhi + 1, (G, N), generator=g, dtype=torch.int64)     # true zero (>= 1)
    scales = (torch.rand(G, N, generator=g) * 0.02 + 0.001).half()
    if act_order:
        g_idx = torch.randperm(K, generator=g) // 128
    else:
        g_idx = torch.arange(K) // 128
    qweight = torch.zeros(K // p, N, dtype=torch.int64)
    for t in range(p):                                   # row p*r + t at bits [b*t, b*t + b)
        qweight |= q[t::p, :] << (bits * t)
    qzeros = torch.zeros(G, N // p, dtype=torch.int64)
    for t in range(p):                                   # column p*c + t, stored value zero - 1
        qzeros |= (z[:, t::p] - 1) << (bits * t)
    as_i32 = lambda t: t.numpy().astype(np.uint32).view(np.int32)
    # Triton: (q - z) as int, times the fp16 scale -> fp16 weight W^T[k, n]
    wt = (q - z[g_idx, :]).half() * scales[g_idx, :]
    files = {"qweight": as_i32(qweight), "qzeros": as_i32(qzeros), "scales": scales.numpy(),
             "gidx": g_idx.numpy().astype(np.int32), "expected": wt.t().contiguous().numpy()}
    for key, arr in files.items():
        with open(os.path.join(OUT, "gptq_%s_%s.bin" % (name, key)), "wb") as f:
            f.write(np.ascontiguousarray(arr).tobytes())


def main():
    os.makedirs(OUT, exist_ok=True)
    x = make_input()
    with open(os.path.join(OUT, "input_4x512.f32"), "wb") as f:
        f.write(x.tobytes())
    for name, fn in (("q8_0", q8_0), ("q4_0", q4_0), ("q4_k", q4_k)):
        data = b"".join(fn([F(v) for v in row]) for row in x)
        with open(os.path.join(OUT, name + ".bin"), "wb") as f:
            f.write(data)
        print(name, len(data), "bytes")
    # name, bits, K, N, zero range, act-order g_idx
    gptq_case("int4", 4, 256, 16, 1, 16, False, 1)
    gptq_case("int8", 8, 256, 8, 120, 135, False, 2)     # q - z may leave int8 -> f16 expected
    gptq_case("int8fit", 8, 256, 8, 128, 128, False, 3)  # q - z in [-128, 127] -> q8_0 possible
    gptq_case("actorder", 4, 256, 8, 1, 16, True, 4)


if __name__ == "__main__":
    main()
