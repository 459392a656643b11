"""fm_shinka: runs a ShinkaEvolve task's evaluate.py unchanged and prints FM Agent's result JSON.

usage: fm_shinka.py --evaluator EVALUATE.py --results-dir DIR CANDIDATE

ShinkaEvolve calls `python evaluate.py --program_path CANDIDATE --results_dir DIR`; the script (usually
through shinka.core.run_shinka_eval, which this sandbox provides) writes DIR/metrics.json and
DIR/correct.json. This adapter runs it exactly so, in this interpreter, then reads the two files:

* correct.json {"correct": bool, "error": str|null}: the candidate is valid only when correct is true
  and metrics.json holds a finite `combined_score` (ShinkaEvolve's score, maximized);
* metrics.json: top-level numbers are metrics; `public` numbers are metrics under their own name
  (`public.<name>` when that clashes) and public non-numbers artifacts, both shown to the model as
  ShinkaEvolve shows them; `private` numbers are metrics named `private.<name>` (kept for the user,
  never put in a prompt) and private non-numbers are dropped; `text_feedback` is the `feedback`
  artifact; anything else non-numeric is an artifact.

Only the result line reaches the real stdout: evaluate.py's prints go to stderr.
"""
import argparse
import json
import math
import os
import runpy
import shutil
import sys

from fm_openevolve import _number, _protect_stdout, _text, finite, parse_args, plain_parser


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f), None
    except FileNotFoundError:
        return None, 'missing'
    except (OSError, ValueError) as e:
        return None, f'unreadable ({e})'


def convert(metrics, correct, features=()):
    nums, arts = {}, {}
    for k, v in metrics.items():
        if k in ('public', 'private') and isinstance(v, dict):
            continue
        if k == 'text_feedback':
            if v not in (None, ''):
                arts['feedback'] = _text(v)
            continue
        x = _number(v)
        if x is not None:
            nums[str(k)] = x if math.isfinite(x) else None
        elif v is not None:
            arts[str(k)] = _text(v)
    for k, v in (metrics.get('public') or {}).items():
        x = _number(v)
        name = str(k) if str(k) not in nums else f'public.{k}'
        if x is not None:
            nums[name] = x if math.isfinite(x) else None
        elif v is not None:
            arts[f'public.{k}'] = _text(v)
    for k, v in (metrics.get('private') or {}).items():
        x = _number(v)
        if x is not None:
            nums[f'private.{k}'] = x if math.isfinite(x) else None
    ok = isinstance(correct, dict) and correct.get('correct') is True
    error = correct.get('error') if isinstance(correct, dict) else None
    score = nums.get('combined_score')
    if error:
        arts['error'] = _text(error)
        arts.setdefault('feedback', _text(error))
    if ok and score is None:
        ok = False
        arts.setdefault('feedback', 'metrics.json has no finite combined_score (the score ShinkaEvolve maximizes)')
    if not ok and 'feedback' not in arts:
        arts['feedback'] = 'correct.json says the program is not correct'
    feats = {f: nums[f] for f in features if f in nums}
    return {'valid': ok, 'metrics': nums, 'features': feats, 'artifacts': arts}


def run(evaluator, candidate, results_dir):
    """Runs evaluate.py as ShinkaEvolve does; returns its exit status (0 when it returned normally)."""
    evaluator = os.path.abspath(evaluator)
    folder = os.path.dirname(evaluator)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.argv = [evaluator, '--program_path', candidate, '--results_dir', results_dir]
    try:
        runpy.run_path(evaluator, run_name='__main__')
    except SystemExit as e:
        code = e.code
        return 0 if code is None else code if isinstance(code, int) else 1
    return 0


def _parser():
    p = argparse.ArgumentParser(prog='fm_shinka.py')
    p.add_argument('--evaluator', required=True)
    p.add_argument('--results-dir', required=True)
    p.add_argument('--features', default='')
    p.add_argument('candidate')
    return p


PARSER = plain_parser(_parser())  # at import, as in fm_openevolve: the launcher preloads both


def main(argv=None):
    args = parse_args(PARSER, sys.argv[1:] if argv is None else argv)
    real_stdout = _protect_stdout()
    results_dir = os.path.abspath(args.results_dir)
    shutil.rmtree(results_dir, ignore_errors=True)
    os.makedirs(results_dir)
    status = run(args.evaluator, os.path.abspath(args.candidate), results_dir)
    metrics, m_err = _read_json(os.path.join(results_dir, 'metrics.json'))
    correct, c_err = _read_json(os.path.join(results_dir, 'correct.json'))
    if metrics is None or not isinstance(metrics, dict):
        # no result: a crash of evaluate.py itself (its traceback is on stderr)
        why = (
            f'evaluate.py wrote no metrics.json ({m_err or "not a JSON object"}); it runs as '
            '`evaluate.py --program_path P --results_dir D` and must write metrics.json (and correct.json) into D'
        )
        if status:
            sys.stderr.write(why + '\n')
            sys.exit(status)
        # it ended as if it had succeeded: a result that says what is missing, not a crash with no cause
        real_stdout.write(json.dumps({'valid': False, 'error': why}) + '\n')
        real_stdout.flush()
        return
    if c_err:
        correct = {'correct': False, 'error': f'evaluate.py wrote no correct.json ({c_err})'}
    out = convert(metrics, correct, [f for f in args.features.split(',') if f])
    if status:
        out['artifacts']['exit_status'] = f'evaluate.py exited with status {status} after writing its results'
    real_stdout.write(json.dumps(finite(out), allow_nan=False, default=str) + '\n')
    real_stdout.flush()


if __name__ == '__main__':
    main()
