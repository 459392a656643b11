"""Copy the shared evaluator modules into every problem folder that uses them.

A problem folder travels alone (a content-addressed bundle), so shared code is copied, not imported
from here. Run `/usr/bin/python3 problems/_common/sync.py` after editing a file in this folder;
problems/problems.test.ts fails while a copy differs from its master (`sync.py --check` lists them).
"""
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# (master file under _common, name in the problem folder, problem-id prefixes; '' = every problem)
SHARED = [
    ('fm_evalkit.py', 'fm_evalkit.py', ['']),
    ('fm_draw.py', 'fm_draw.py', ['']),
    ('tsplib.py', 'tsplib.py', ['tsp-']),
    ('tsp/evaluator.py', 'evaluator.py', ['tsp-']),
    ('binpacking/evaluator.py', 'evaluator.py', ['bin-packing-']),
    ('binpacking/harness.py', 'harness.py', ['bin-packing-']),
    ('gpu/evaluator.py', 'evaluator.py', ['gpu-']),
]


def copies():
    for name in sorted(os.listdir(ROOT)):
        folder = os.path.join(ROOT, name)
        if not os.path.isfile(os.path.join(folder, 'problem.json')):
            continue
        with open(os.path.join(folder, 'problem.json')) as f:
            pid = json.load(f)['id']
        for master, name, prefixes in SHARED:
            if any(pid.startswith(p) for p in prefixes):
                yield os.path.join(HERE, master), os.path.join(folder, name)


def drifted():
    out = []
    for src, dst in copies():
        with open(src, 'rb') as a:
            want = a.read()
        have = None
        if os.path.exists(dst):
            with open(dst, 'rb') as b:
                have = b.read()
        if have != want:
            out.append(os.path.relpath(dst, ROOT))
    return out


if __name__ == '__main__':
    if sys.argv[1:] == ['--check']:
        stale = drifted()
        print(json.dumps({'stale': stale, 'checked': sum(1 for _ in copies())}))
        sys.exit(1 if stale else 0)
    for src, dst in copies():
        shutil.copyfile(src, dst)
        print('copied', os.path.relpath(dst, ROOT))
