"""Score a candidate on the PUBLIC cases (data/public/*.txt), for tuning by hand.

usage: /usr/bin/python3 run_public.py CANDIDATE.py [TIME_BUDGET_S] [FIRST_K_CASES]
The reported score of the problem comes from the private cases (evaluator.py), not from these.
"""
import glob
import os
import subprocess
import sys

import scorer

HERE = os.path.dirname(os.path.abspath(__file__))


def run(candidate, budget=1.0, limit=None):
    cases = sorted(glob.glob(os.path.join(HERE, 'data', 'public', '*.txt')))[:limit]
    total = 0
    for path in cases:
        with open(path) as f:
            instance = f.read()
        out = subprocess.run([sys.executable, candidate, str(budget)], input=instance.encode(),
                             capture_output=True, timeout=2 * budget + 5)
        score, details = scorer.score_case(instance, out.stdout.decode())
        total += score
        print(f'{os.path.basename(path)}  n={details["n"]:3d}  {score:>11,d}', details.get('wrong_answer', ''))
    print(f'mean normalized score {total / len(cases) / 1e9:.6f} over {len(cases)} public cases')


if __name__ == '__main__':
    run(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 1.0, int(sys.argv[3]) if len(sys.argv) > 3 else None)
