"""Linear probes on frozen descriptors: how much each level of the world (region, city,
neighbourhood, place) can be read off a model's features by a linear classifier.

    result = probe_levels(train_x, train_rows, eval_x, eval_rows)

The probe is ridge regression onto one-hot labels (closed form, deterministic) on standardised
features, each training photo weighted by one over its class's count (the world is as unbalanced
as the real one: a few big cities hold most photos), predicting the class with the highest score.
Scores are balanced accuracies (the mean over classes of the share of the class's photos
recognised), so chance is one over the number of classes whatever the imbalance. Levels:
  region, city, neighbourhood   fitted on the training split, scored on held-out places (the
                                database split): every class the fit saw; "within parent" scores
                                only among the classes of the true parent level (the cities of the
                                true region, ...), which measures what the level adds of its own
  place                         the database places with two or more photos: even-numbered views
                                fit, odd-numbered views scored (places never seen in training);
                                within parent: among the places of the true neighbourhood
Chance: one over the number of classes (within parent: the mean over scored photos of one over
the number of classes sharing the parent).
"""
import collections

import numpy as np

RIDGE = 1.0  # on standardised features


def _fit(x, labels, classes):
    index = {c: i for i, c in enumerate(classes)}
    counts = collections.Counter(labels)
    y = np.zeros((len(labels), len(classes)), dtype=np.float64)
    y[np.arange(len(labels)), [index[l] for l in labels]] = 1.0
    weight = np.array([len(labels) / (len(classes) * counts[l]) for l in labels])[:, None]
    xb = np.hstack([x, np.ones((len(x), 1))])
    gram = xb.T @ (weight * xb) + RIDGE * np.eye(xb.shape[1])
    return np.linalg.solve(gram, xb.T @ (weight * y))


def _balanced(hits, labels):
    """Mean over classes of the share of their rows that were hits."""
    per_class = collections.defaultdict(list)
    for h, l in zip(hits, labels):
        per_class[l].append(h)
    return float(np.mean([np.mean(v) for v in per_class.values()]))


def _scores(w, x):
    return np.hstack([x, np.ones((len(x), 1))]) @ w


def _standardise(train, *others):
    mean, std = train.mean(axis=0), train.std(axis=0) + 1e-6
    return [(a - mean) / std for a in (train,) + others]


def _level(train_x, train_labels, eval_x, eval_labels, train_parent, eval_parent):
    classes = sorted(set(train_labels))
    keep = np.array([l in set(classes) for l in eval_labels])
    eval_x, eval_labels = eval_x[keep], [l for l, k in zip(eval_labels, keep) if k]
    eval_parent = [p for p, k in zip(eval_parent, keep) if k]
    if not eval_labels or len(classes) < 2:
        return None
    w = _fit(train_x, train_labels, classes)
    s = _scores(w, eval_x)
    predicted = [classes[i] for i in s.argmax(axis=1)]
    acc = _balanced([p == t for p, t in zip(predicted, eval_labels)], eval_labels)
    chance = 1.0 / len(classes)
    # Within the parent: only the classes that share the true class's parent compete.
    parent_of = {}
    for l, p in zip(train_labels, train_parent):
        parent_of[l] = p
    hits, hit_labels, within_chance = [], [], []
    for row, truth, parent in zip(s, eval_labels, eval_parent):
        siblings = [i for i, c in enumerate(classes) if parent_of[c] == parent]
        if len(siblings) < 2:
            continue
        best = siblings[int(np.argmax(row[siblings]))]
        hits.append(classes[best] == truth)
        hit_labels.append(truth)
        within_chance.append(1.0 / len(siblings))
    return {
        "classes": len(classes), "evaluated": len(eval_labels), "accuracy": acc, "chance": chance,
        "within_parent": _balanced(hits, hit_labels) if hits else None,
        "within_parent_chance": float(np.mean(within_chance)) if hits else None,
        "within_parent_evaluated": len(hits),
    }


def probe_levels(train_x, train_rows, eval_x, eval_rows):
    """train_rows / eval_rows: the world CSV rows (dicts) of each vector, localizable ones only."""
    train_x, eval_x = _standardise(train_x, eval_x)
    out = {}
    parents = {"region": None, "city": "region", "neighbourhood": "city"}
    for level, parent in parents.items():
        out[level] = _level(
            train_x, [r[level] for r in train_rows], eval_x, [r[level] for r in eval_rows],
            [r[parent] if parent else "" for r in train_rows],
            [r[parent] if parent else "" for r in eval_rows])
    # Places: views of held-out places, even views fit, odd views scored.
    by_place = collections.defaultdict(list)
    for i, r in enumerate(eval_rows):
        by_place[r["place"]].append(i)
    fit_idx, score_idx = [], []
    for place, idx in by_place.items():
        if len(idx) < 2:
            continue
        for j, i in enumerate(idx):
            (fit_idx if j % 2 == 0 else score_idx).append(i)
    if fit_idx and score_idx:
        fit_x, score_x = _standardise(eval_x[fit_idx], eval_x[score_idx])
        out["place"] = _level(
            fit_x, [eval_rows[i]["place"] for i in fit_idx], score_x,
            [eval_rows[i]["place"] for i in score_idx],
            [eval_rows[i]["neighbourhood"] for i in fit_idx],
            [eval_rows[i]["neighbourhood"] for i in score_idx])
    return out
