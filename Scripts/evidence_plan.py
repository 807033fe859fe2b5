#!/usr/bin/env python3
"""The pre-registered protocol's bookkeeping (Docs/Evidence.md#pre-registered-protocol): which
`slkd demo` runs each phase makes, and which configuration the tune phase chose. Standard library only.

  evidence_plan.py runs tune GRID [ARMS]          one line per tune run:  arm TAB config TAB demo flags
  evidence_plan.py runs test CHOSEN [ARMS]        one line per arm:       arm TAB config TAB demo flags
  evidence_plan.py choose GRID TUNE_DIR STEPS OUT  picks each arm's configuration, writes OUT (chosen.json),
                                                  prints the tune table as Markdown

ARMS is an optional comma-separated subset (for smoke runs). Flags are tab-separated words.
"""
import json
import os
import sys

NOT_METHODS = {"run", "degraded_input", "teacher"}


def configurations(arm):
    """The arm's configurations in grid order: every learning rate × every weight value (the
    weight varies fastest). Each is (id, learning rate, weight value or None, demo flags)."""
    weight = arm.get("weight")
    values = weight["values"] if weight else [None]
    out = []
    for lr in arm["learning_rates"]:
        for value in values:
            flags = ["--methods", arm["method"]] + list(arm["flags"]) + ["--learning-rate", repr(lr)]
            if value is not None:
                flags += weight["flags"].replace("{}", repr(value)).split()
            out.append(("c%d" % (len(out) + 1), lr, value, flags))
    return out


def load_grid(path):
    grid = json.load(open(path))
    n = grid["configurations_per_arm"]
    names = [a["arm"] for a in grid["arms"]]
    if len(set(names)) != len(names):
        sys.exit(f"{path}: an arm is listed twice")
    for arm in grid["arms"]:
        if len(configurations(arm)) != n:  # the equal tuning budget the protocol promises
            sys.exit(f"{path}: arm {arm['arm']} has {len(configurations(arm))} configurations, not {n}")
    return grid


def subset(arms, wanted):
    if not wanted:
        return arms
    names = wanted.split(",")
    unknown = [n for n in names if n not in [a["arm"] for a in arms]]
    if unknown:
        sys.exit(f"unknown arms: {', '.join(unknown)}")
    return [a for a in arms if a["arm"] in names]


def the_method(metrics, path):
    """The one student method of a one-arm demo run's metrics.json."""
    keys = [k for k in metrics if k not in NOT_METHODS]
    if len(keys) != 1:
        sys.exit(f"{path}: expected one student method, found {keys}")
    return metrics[keys[0]]


def tune_runs(path, wanted):
    grid = load_grid(path)
    for arm in subset(grid["arms"], wanted):
        for cid, _, _, flags in configurations(arm):
            print("\t".join([arm["arm"], cid] + flags))


def test_runs(path, wanted):
    chosen = json.load(open(path))
    arms = [dict(v, arm=k) for k, v in chosen["arms"].items()]
    for arm in subset(arms, wanted):
        print("\t".join([arm["arm"], arm["configuration"]] + arm["flags"]))


def key(result):
    """Selection order: PSNR, then SSIM, both as printed; grid order breaks what is left."""
    return (-round(result["psnr"], 2), -round(result["ssim"], 4), result["index"])


def choose(grid_path, tune_dir, steps, out_path, wanted=None):
    grid = load_grid(grid_path)
    chosen = {"grid": os.path.relpath(grid_path), "tuning_seed": grid["tuning_seed"], "steps": int(steps),
              "validation_images": grid["validation_images"], "selection": grid["selection"], "arms": {}}
    lines = [f"Tune phase: seed {grid['tuning_seed']}, {steps} steps, validation images "
             f"{grid['validation_images']}; chosen configurations in bold.", "",
             "| arm | configuration | learning rate | weight | validation PSNR (dB) | validation SSIM |",
             "|---|---|---:|---|---:|---:|"]
    for arm in subset(grid["arms"], wanted):
        results = []
        for index, (cid, lr, value, flags) in enumerate(configurations(arm)):
            path = os.path.join(tune_dir, arm["arm"], cid, "metrics.json")
            if not os.path.exists(path):
                sys.exit(f"{path}: missing; run the tune phase first")
            metrics = json.load(open(path))
            if metrics["run"]["student_steps"] != int(steps):
                sys.exit(f"{path}: {metrics['run']['student_steps']} steps, not {steps}")
            m = the_method(metrics, path)
            results.append(dict(index=index, configuration=cid, learning_rate=lr, weight=value, flags=flags,
                                psnr=m["psnr"], ssim=m["ssim"]))
        best = min(results, key=key)
        chosen["arms"][arm["arm"]] = {k: best[k] for k in ("configuration", "learning_rate", "weight", "flags")}
        chosen["arms"][arm["arm"]].update(validation_psnr=best["psnr"], validation_ssim=best["ssim"],
                                          weight_name=arm["weight"]["name"] if arm.get("weight") else None)
        for r in results:
            weight = "–" if r["weight"] is None else f"{arm['weight']['name']} = {r['weight']}"
            row = f"{arm['arm']} | {r['configuration']} | {r['learning_rate']} | {weight} | {r['psnr']:.2f} | {r['ssim']:.4f}"
            lines.append("| " + ("**" + row.replace(" | ", "** | **") + "**" if r is best else row) + " |")
    with open(out_path + ".tmp", "w") as f:
        json.dump(chosen, f, indent=2, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    os.replace(out_path + ".tmp", out_path)
    print("\n".join(lines))


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == "runs" and a[1] == "tune":
        tune_runs(a[2], a[3] if len(a) > 3 else "")
    elif len(a) >= 3 and a[0] == "runs" and a[1] == "test":
        test_runs(a[2], a[3] if len(a) > 3 else "")
    elif len(a) in (5, 6) and a[0] == "choose":
        choose(a[1], a[2], a[3], a[4], a[5] if len(a) > 5 else None)
    else:
        sys.exit(__doc__)
