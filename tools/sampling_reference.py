#!/usr/bin/python3
"""Reference for the sampling pipeline (spec 4.2 / 4.8), written from the spec in torch, the way
transformers 4.25.1 and moss_inference.py apply it: repetition penalty -> temperature -> top-k ->
top-p -> softmax. Writes tests/fixtures/generate/sampling.json: per case the input logits, the
sequence ids, the parameters, the surviving index set and the final probabilities.

Run with the Debian python that has torch:  /usr/bin/python3 tools/sampling_reference.py
"""
import json
import os
import torch

N = 64


def repetition_penalty(scores, ids, penalty):
    if penalty == 1.0:
        return scores
    ids = torch.tensor([ids], dtype=torch.long)
    score = torch.gather(scores, 1, ids)
    score = torch.where(score < 0, score * penalty, score / penalty)
    return scores.scatter(1, ids, score)


def temperature(scores, t):
    return scores if t == 1.0 else scores / t


def top_k(scores, k):
    if k <= 0:
        return scores
    k = min(k, scores.size(-1))
    remove = scores < torch.topk(scores, k)[0][..., -1, None]
    return scores.masked_fill(remove, -float("inf"))


def top_p(scores, p, variant):
    """Returns the filtered scores and the cumulative sums that decided it (for the margin check)."""
    if p >= 1.0:
        return scores, None, None
    if variant == "ascending":  # HF 4.25.1 TopPLogitsWarper
        sorted_logits, sorted_idx = torch.sort(scores, descending=False, stable=True)
        cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        remove = cum <= (1 - p)
        remove[..., -1:] = False
        thr = 1 - p
    else:  # moss_inference.py
        sorted_logits, sorted_idx = torch.sort(scores, descending=True, stable=True)
        cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        remove = cum > p
        remove[..., 1:] = remove[..., :-1].clone()
        remove[..., 0] = False
        thr = p
    remove = remove.scatter(1, sorted_idx, remove)
    return scores.masked_fill(remove, -float("inf")), cum, thr


def pipeline(logits, ids, c):
    s = torch.tensor([logits], dtype=torch.float32)
    s = repetition_penalty(s, ids, c["repetition_penalty"])
    if c["greedy"]:
        return s, None, None
    s = temperature(s, c["temperature"])
    s = top_k(s, c["top_k"])
    s, cum, thr = top_p(s, c["top_p"], c["variant"])
    return s, cum, thr


CASES = [
    dict(temperature=0.7, top_k=0, top_p=0.8, repetition_penalty=1.02, variant="ascending", greedy=False),
    dict(temperature=0.7, top_k=0, top_p=0.8, repetition_penalty=1.02, variant="descending", greedy=False),
    dict(temperature=0.7, top_k=40, top_p=0.8, repetition_penalty=1.02, variant="ascending", greedy=False),
    dict(temperature=0.7, top_k=50, top_p=0.8, repetition_penalty=1.02, variant="descending", greedy=False),
    dict(temperature=1.0, top_k=5, top_p=1.0, repetition_penalty=1.0, variant="ascending", greedy=False),
    dict(temperature=1.3, top_k=0, top_p=0.5, repetition_penalty=1.2, variant="ascending", greedy=False),
    dict(temperature=1.3, top_k=0, top_p=0.5, repetition_penalty=1.2, variant="descending", greedy=False),
    dict(temperature=0.2, top_k=0, top_p=0.95, repetition_penalty=1.0, variant="ascending", greedy=False),
    dict(temperature=0.2, top_k=3, top_p=0.95, repetition_penalty=1.5, variant="descending", greedy=False),
    dict(temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.3, variant="ascending", greedy=True),
]


def main():
    gen = torch.Generator().manual_seed(1234)
    out = []
    for i, c in enumerate(CASES):
        for attempt in range(1000):
            logits = (torch.randn(N, generator=gen) * 0.8).tolist()
            logits = [float(torch.tensor(v, dtype=torch.float32)) for v in logits]
            if i == 4:  # ties at the top-k boundary: all copies of the k-th value survive
                order = sorted(range(N), key=lambda j: -logits[j])
                logits[order[5]] = logits[order[4]]
                logits[order[6]] = logits[order[4]]
            ids = torch.randint(0, N, (12,), generator=gen).tolist()
            s, cum, thr = pipeline(logits, ids, c)
            # Keep every cumulative sum at least 1e-4 away from the threshold, so that float32 vs
            # double summation (error ~ N * 6e-8 = 4e-6) cannot flip a keep/remove decision.
            if cum is not None and torch.min(torch.abs(cum - thr)).item() < 1e-4:
                continue
            break
        else:
            raise SystemExit("no well-conditioned logits found")
        if c["greedy"]:
            kept = [int(torch.argmax(s[0]).item())]
            probs = [1.0]
        else:
            p = s.softmax(dim=-1)[0]
            kept = [j for j in range(N) if s[0, j].item() != -float("inf")]
            probs = [p[j].item() for j in kept]
        out.append(dict(params=c, logits=logits, ids=ids, kept=kept, probs=probs))
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "generate", "sampling.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", len(out), "cases to", os.path.normpath(path))


if __name__ == "__main__":
    main()
