"""Training curves as PNG (python3-matplotlib): one row per run, the training loss against steps
(raw and a moving average) on the left, validation recall@1 and @5 at 25 m after every epoch on
the right, with the initial weights' recall (epoch 0) as a dashed line.

  plot_runs(["runs/cosplace", "runs/netvlad"], "docs/training_curves.png")
"""

import json
import os
from typing import List, Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _moving_average(values: Sequence[float], window: int) -> List[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def _config(run_dir: str) -> dict:
    try:
        with open(os.path.join(run_dir, "config.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _title(run_dir: str) -> str:
    try:
        with open(os.path.join(run_dir, "summary.json")) as f:
            name = json.load(f)["name"]
        return f"{name} ({_config(run_dir)['method']} training)"
    except (OSError, KeyError, ValueError):
        return os.path.basename(os.path.abspath(run_dir))


def plot_runs(run_dirs: Sequence[str], out_png: str,
              titles: Optional[Sequence[str]] = None) -> None:
    fig, axes = plt.subplots(len(run_dirs), 2, figsize=(11, 3.4 * len(run_dirs)), squeeze=False)
    for row, run_dir in enumerate(run_dirs):
        with open(os.path.join(run_dir, "history.json")) as f:
            history = json.load(f)
        title = titles[row] if titles else _title(run_dir)
        steps = [s for s, _ in history["losses"]]
        losses = [v for _, v in history["losses"]]
        ax = axes[row][0]
        if steps:
            window = max(1, len(losses) // 50)
            ax.plot(steps, losses, color="tab:gray", alpha=0.35, linewidth=0.7, label="per step")
            ax.plot(steps, _moving_average(losses, window), color="tab:blue", linewidth=1.6,
                    label=f"moving average ({window} steps)")
        cfg = _config(run_dir)
        if cfg.get("method") == "cosplace" and steps:
            # Each group has its own, freshly initialised LMCL head: the loss jumps when the
            # next group's turn comes.
            every = int(cfg.get("cosplace", {}).get("iterations_per_group", 0))
            for i, x in enumerate(range(every, steps[-1], every) if every else []):
                ax.axvline(x, color="tab:orange", linestyle=":", linewidth=0.9,
                           label="next group (its own LMCL head)" if i == 0 else None)
        if cfg.get("method") == "netvlad" and steps:
            # Hard negatives are mined again once the queries of a refresh are used up.
            t = cfg.get("triplets", {})
            every = -(-int(t.get("cache_refresh", 0)) // max(1, int(t.get("batch", 1))))
            for i, x in enumerate(range(every, steps[-1], every) if every else []):
                ax.axvline(x, color="tab:purple", linestyle=":", linewidth=0.9,
                           label="negatives mined again" if i == 0 else None)
        ax.set_xlabel("training step")
        ax.set_ylabel("training loss")
        ax.set_title(f"{title}: loss", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax = axes[row][1]
        epochs = history["epochs"]
        x = [e["step"] for e in epochs]
        top = 0.0
        for key, colour in (("recall@1", "tab:red"), ("recall@5", "tab:green")):
            y = [e["val"][key] for e in epochs]
            top = max([top] + y)
            ax.plot(x, y, marker="o", color=colour, label=f"{key} (25 m)")
            if epochs:
                ax.axhline(y[0], color=colour, linestyle="--", linewidth=0.9, alpha=0.7,
                           label=f"{key} of the initial weights")
        ax.set_xlabel("training step (a point per epoch; step 0 = initial weights)")
        ax.set_ylabel("validation recall")
        # From 0 to a little above the best value: a hard world's recall of a few percent must not
        # be a flat line at the bottom of a 0-1 axis.
        ax.set_ylim(0, min(1.0, max(0.05, top * 1.25)))
        ax.set_title(f"{title}: validation", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    tmp = out_png + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, out_png)
