"""report.png of a training run (matplotlib, Debian's python3-matplotlib): loss and accuracy
per epoch, FP32 vs fake-quant vs integer-simulated top-1, and the fractional lengths chosen."""

from __future__ import annotations

from typing import Dict, Optional


def plot(report: Dict, png_path: str) -> Optional[str]:
    """Writes `png_path` and returns it; None when matplotlib is missing (the JSON has it all)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    hist = report.get("history", [])
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    x = list(range(1, len(hist) + 1))
    ax[0].plot(x, [h["loss"] for h in hist], label="train loss")
    ax[0].set_xlabel("epoch (FP32, then quantized)")
    ax[0].set_title("loss")
    ax2 = ax[0].twinx()
    ax2.plot(x, [h["train_acc"] for h in hist], "g--", label="train top-1")
    if hist and "test_acc" in hist[0]:
        ax2.plot(x, [h.get("test_acc") for h in hist], "r-", label="test top-1")
    n_fp = sum(h["phase"] == "fp32" for h in hist)
    if 0 < n_fp < len(hist):
        ax[0].axvline(n_fp + 0.5, color="gray", ls=":")
    ax2.set_ylabel("top-1 %")
    ax2.legend(loc="center right")

    acc = {k: v for k, v in report["accuracy_top1_percent"].items() if v is not None}
    names = list(acc)
    ax[1].barh(names, [acc[k] for k in names], color="tab:blue")
    lo = min(acc.values()) - 1.0
    ax[1].set_xlim(max(lo, 0), min(max(acc.values()) + 0.5, 100))
    for i, k in enumerate(names):
        ax[1].text(acc[k], i, f" {acc[k]:.2f}", va="center")
    ax[1].set_title(f"top-1 on {report.get('test_images')} test images")

    fls = report.get("fractional_lengths", {})
    items = [(f"w {k}", v) for k, v in fls.get("weights", {}).items()] + \
            [(f"a {k}", v) for k, v in fls.get("activations", {}).items()]
    ax[2].bar([k for k, _ in items], [v for _, v in items], color="tab:orange")
    ax[2].set_title("FLs (w: weights, a: activations)")
    ax[2].tick_params(axis="x", rotation=60)
    fig.tight_layout()
    fig.savefig(png_path, dpi=80)
    plt.close(fig)
    return png_path
