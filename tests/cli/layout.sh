#!/usr/bin/env bash
# docs/layout.md: a library file includes only from its own folder and the layers below it;
# every library folder is built.
source "$(dirname "$0")/lib.bash"
python3 - <<'PY' || fail_test "an include crosses the layers of docs/layout.md"
import os, re, sys
order = ["base", "kernels", "data", "dist", "model", "selfplay", "eval", "train", "bench", "loop", "cli"]
below = {d: set(order[:i + 1]) for i, d in enumerate(order)}
bad = []
for top in order:
    for root, _, files in os.walk(top):
        for f in files:
            if not re.search(r"\.(c|h|cu|cuh)$", f):
                continue
            path = os.path.join(root, f)
            for n, line in enumerate(open(path, encoding="utf-8"), 1):
                m = re.match(r'\s*#include "([^"]+)"', line)
                if not m:
                    continue
                target = os.path.normpath(os.path.join(root, m.group(1)))
                layer = target.split(os.sep)[0]
                if layer in below and layer not in below[top]:
                    bad.append(f"{path}:{n}: {top}/ includes {target} ({layer}/ is above it)")
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
for d in base dist selfplay bench loop; do grep -q "$d/\*.c" Makefile || fail_test "the Makefile does not build $d/"; done
finish
