"""FGQ ternarization (Mellempudi et al. 2017, "Ternary Neural Networks with Fine-Grained
Quantization"; ../shared/notes/fgq.md) of one layer's weights, in numpy, and the 8-bit α the
file stores (docs/FORMAT.md §2.5).

Each output channel's K weights, in the file's order (input channels fastest), are cut into
groups of N contiguous weights (the last one shorter when N does not divide K). Each group g
gets W_g ≈ α_g·T_g, T_g ∈ {−1, 0, +1}^N:

- FGQ (`method="fgq"`): the exact search. With separate thresholds for the two signs, keeping
  the kp largest positive weights and the kn largest-magnitude negative ones, the best α is
  the mean magnitude of the kept weights, S/(kp + kn), and the error is
  ||W_g||² − S²/(kp + kn) (S: their summed magnitudes). So the pair (kp, kn) maximising
  S²/(kp + kn) over all 0 ≤ kp ≤ #positive, 0 ≤ kn ≤ #negative is the least-squares optimum
  for one α per group (`search_pairs`: O(N²) candidates per group). With ONE α the two
  thresholds come out equal: for a given count c = kp + kn, S is largest when the kept
  weights are the c largest magnitudes of the group, whatever their signs, and that set is
  itself a (kp, kn) pair. So the search over pairs equals the search over c of
  (sum of the c largest |w|)²/c (`search`, O(N log N)); test_ternary checks the two agree and
  match a brute force over all 3^N codes. Separate Δp ≠ Δn pay only with one α per sign,
  which the format does not store (docs/FORMAT.md §2.5 says why).
- TWN (`method="twn"`, the baseline): one threshold Δ = 0.7·mean|W| and one α (mean |w|
  above Δ) for the whole layer (Li & Liu 2016).
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

ALPHA_MAX = 127     # α is a u8 in [0, 127] so that t·α is an s8 (FORMAT.md §2.5)


def num_groups(k: int, n: int) -> int:
    return -(-k // n)


def _grouped(w: np.ndarray, n: int) -> np.ndarray:
    """[Cout, K] → [Cout·G, N], the last group of each channel padded with zeros (a zero is
    neither positive nor negative, so the search never keeps it)."""
    cout, k = w.shape
    g = num_groups(k, n)
    wp = np.zeros((cout, g * n), np.float64)
    wp[:, :k] = w
    return wp.reshape(cout * g, n)


def search(groups: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Exact per-group search by the kept count c: (codes [G, N] int8, α [G] float64).
    Keeps the c largest magnitudes (ties: the earlier position) for the c maximising
    C(c)²/c, C(c) their sum; zeros are never kept."""
    mag = np.abs(groups)
    order = np.argsort(-mag, axis=1, kind="stable")
    sm = np.take_along_axis(mag, order, axis=1)
    csum = np.cumsum(sm, axis=1)
    c = np.arange(1, groups.shape[1] + 1, dtype=np.float64)
    score = np.where(sm > 0, csum * csum / c, -1.0)
    best = score.argmax(axis=1)
    rows = np.arange(len(groups))
    keep_n = np.where(score[rows, best] > 0, best + 1, 0)
    alpha = np.where(keep_n > 0, csum[rows, best] / np.maximum(keep_n, 1), 0.0)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(groups.shape[1])[None, :].repeat(len(groups), 0),
                      axis=1)
    codes = np.sign(groups) * (rank < keep_n[:, None])
    return codes.astype(np.int8), alpha


def search_pairs(groups: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The search over separate thresholds (kp, kn) with one α, as FGQ states it:
    (codes [G, N] int8, α [G] float64). The reference `search` is tested against."""
    n = groups.shape[1]
    pos = np.where(groups > 0, groups, 0.0)
    neg = np.where(groups < 0, -groups, 0.0)
    ps = -np.sort(-pos, axis=1)                     # magnitudes, largest first
    ns = -np.sort(-neg, axis=1)
    zero = np.zeros((len(groups), 1))
    cp = np.concatenate([zero, np.cumsum(ps, axis=1)], axis=1)   # [G, N+1]: sum of kp largest
    cn = np.concatenate([zero, np.cumsum(ns, axis=1)], axis=1)
    n_pos = (groups > 0).sum(axis=1)
    n_neg = (groups < 0).sum(axis=1)
    k = np.arange(n + 1)
    s = cp[:, :, None] + cn[:, None, :]             # [G, kp, kn]
    cnt = (k[:, None] + k[None, :]).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(cnt > 0, s * s / np.maximum(cnt, 1), 0.0)
    valid = (k[None, :, None] <= n_pos[:, None, None]) & (k[None, None, :] <= n_neg[:, None, None])
    score = np.where(valid, score, -1.0)
    best = score.reshape(len(groups), -1).argmax(axis=1)
    kp, kn = best // (n + 1), best % (n + 1)
    rows = np.arange(len(groups))
    total = cp[rows, kp] + cn[rows, kn]
    alpha = np.where(kp + kn > 0, total / np.maximum(kp + kn, 1), 0.0)
    # the kp largest positives (rank by magnitude, ties by position) → +1; likewise −1
    rank_p = np.argsort(np.argsort(-pos, axis=1, kind="stable"), axis=1, kind="stable")
    rank_n = np.argsort(np.argsort(-neg, axis=1, kind="stable"), axis=1, kind="stable")
    codes = np.where((groups > 0) & (rank_p < kp[:, None]), 1, 0) - \
        np.where((groups < 0) & (rank_n < kn[:, None]), 1, 0)
    return codes.astype(np.int8), alpha


def ternarize(w: np.ndarray, n: int, method: str = "fgq") -> Tuple[np.ndarray, np.ndarray]:
    """w: real weights [Cout, K] (file order). Returns codes int8 [Cout, K] in {−1, 0, +1} and
    α float64 [Cout, ceil(K/N)], so that w ≈ codes·α[:, k // N]. TWN ignores the grouping
    for its threshold and α (one each for the layer) but returns them per group."""
    w = np.asarray(w, np.float64)
    cout, k = w.shape
    g = num_groups(k, n)
    if method == "twn":
        delta = 0.7 * np.abs(w).mean()
        keep = np.abs(w) > delta
        a = float(np.abs(w)[keep].mean()) if keep.any() else 0.0
        codes = (np.sign(w) * keep).astype(np.int8)
        return codes, np.full((cout, g), a)
    if method != "fgq":
        raise ValueError(f"unknown ternarization method {method!r} (fgq or twn)")
    flat = _grouped(w, n)
    codes, alpha = search(flat)
    return codes.reshape(cout, g * n)[:, :k].copy(), alpha.reshape(cout, g)


def alpha_fl(alpha: np.ndarray, lo: int = -32, hi: int = 32) -> np.ndarray:
    """FL_w[o] per output channel: the largest FL with max_g α[o][g]·2^FL ≤ 127, so that the
    channel's largest α lands in [63.5, 127] (FORMAT.md §2.5). A channel of zeros gets 7."""
    amax = alpha.max(axis=1)
    with np.errstate(divide="ignore"):
        fl = np.floor(np.log2(ALPHA_MAX / np.where(amax > 0, amax, 1.0)))
    fl = np.where(amax > 0, fl, 7)
    return np.clip(fl, lo, hi).astype(np.int64)


def quantize_alpha(alpha: np.ndarray, fl: np.ndarray) -> np.ndarray:
    """α_q = round(α·2^FL_w[o]) (half to even, like torch.round), clamped to [0, 127]."""
    q = np.rint(alpha * np.exp2(fl.astype(np.float64))[:, None])
    return np.clip(q, 0, ALPHA_MAX).astype(np.uint8)


def fl_bounds(fl_x: int, fl_out: int) -> Tuple[int, int]:
    """The FL_w range of a ternary op with input FL fl_x and output FL fl_out: every shift
    FL_w + FL_x − FL_out within ±31 and FL_w within [−32, 32] (FORMAT.md §1)."""
    d = fl_out - fl_x
    return max(-32, d - 31), min(32, d + 31)


def ternary_parts(w: np.ndarray, group: int, method: str = "fgq",
                  alpha_scale: Optional[np.ndarray] = None, lo: int = -32, hi: int = 32
                  ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """One layer's real weights [Cout, K] (file order) → what the file stores: (codes int8
    [Cout, K], α_q u8 [Cout, G], FL_w int64 [Cout], N). TWN stores one α per output channel
    row (N = K), FGQ one per group of min(group, K). `alpha_scale` (per output channel, the
    output correction) multiplies the α's before they are quantized; FL_w is kept in
    [lo, hi] (the caller's bounds on the op's shifts)."""
    k = w.shape[1]
    n = k if method == "twn" else min(group, k)
    codes, alpha = ternarize(w, n, method)
    if alpha_scale is not None:
        alpha = alpha * alpha_scale[:, None]
    fl = alpha_fl(alpha, lo, hi)
    return codes, quantize_alpha(alpha, fl), fl, n


def approximation_error(w: np.ndarray, codes: np.ndarray, alpha: np.ndarray, n: int) -> float:
    """||W − α·T||² / ||W||² for reports and tests."""
    k = w.shape[1]
    a = np.repeat(alpha, n, axis=1)[:, :k]
    return float(((w - codes * a) ** 2).sum() / max((w ** 2).sum(), 1e-30))
