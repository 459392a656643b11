"""fm_openevolve: runs an OpenEvolve-format evaluator unchanged and prints FM Agent's result JSON.

usage: fm_openevolve.py --evaluator EVALUATOR.py [--thresholds JSON] [--max-stage K] [--features a,b]
                        [--function NAME] CANDIDATE

* OpenEvolve (default): `evaluate(program_path)`, or the cascade `evaluate_stage1/2/3` when thresholds are
  given (OpenEvolve's `evaluator.cascade_evaluation`), with OpenEvolve's rules: a stage's score is
  `combined_score`, or else the mean of its numeric metrics; the next stage runs only when the score
  reaches the stage's threshold; metrics of later stages are merged over earlier ones.
* `--function NAME`: one function of a native Python evaluator (a `cascade` stage given by function).

The evaluator returns a dict of metrics or an EvaluationResult (`openevolve.evaluation_result`, provided in
the sandbox by workers/python/openevolve) or a look-alike object (`.metrics`, `.artifacts`).
`evaluate()` also gets the keyword arguments of OpenEvolve's `evaluator.evaluator_args`
(`evaluatorArgs` in the problem.json the loader writes beside the evaluator), as OpenEvolve passes them.
Numeric metrics become metrics (booleans as 0/1, NaN/inf as null); anything else goes to artifacts.
An artifact that is a picture (PNG bytes, or an SVG document as text or bytes) becomes an image artifact
(`{"type": "image/png" | "image/svg+xml", "data": …}`), which the worker checks (workers/images.ts).
`combined_score` is added as the mean of the numeric metrics when absent, as OpenEvolve does.
The result is the only line written to the real stdout: the evaluator's and the candidate's prints go
to stderr. An exception propagates (traceback on stderr, exit 1): the worker reports it as a crash, or
as a memory failure for a MemoryError.
"""
import argparse
import base64
import importlib.util
import json
import math
import os
import sys

MAX_ARTIFACT = 16000


def _protect_stdout():
    sys.stdout.flush()
    real = os.fdopen(os.dup(1), 'w')
    os.dup2(2, 1)
    return real


def _number(v):
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    item = getattr(v, 'item', None)  # numpy / torch scalars
    if callable(item) and getattr(v, 'ndim', 0) == 0:
        try:
            x = item()
        except Exception:
            return None
        if isinstance(x, (bool, int, float)):
            return float(x)
    return None


def _text(v):
    if isinstance(v, bytes):
        v = v.decode('utf-8', errors='replace')
    if isinstance(v, str):
        return v if len(v) <= MAX_ARTIFACT else v[:MAX_ARTIFACT // 2] + '\n…\n' + v[-MAX_ARTIFACT // 2:]
    try:
        s = json.dumps(v, allow_nan=False, default=str)
        if len(s) <= MAX_ARTIFACT:
            return json.loads(s)
        return s[:MAX_ARTIFACT] + '…'
    except (TypeError, ValueError):
        return repr(v)[:MAX_ARTIFACT]


def _image(v):
    """A picture artifact in FM Agent's form, or None: PNG bytes, an SVG document, or already in that form."""
    if isinstance(v, dict) and v.get('type') in ('image/svg+xml', 'image/png') and isinstance(v.get('data'), str):
        return {'type': v['type'], 'data': v['data']}
    if isinstance(v, (bytes, bytearray)):
        if bytes(v[:8]) == b'\x89PNG\r\n\x1a\n':
            return {'type': 'image/png', 'data': base64.b64encode(bytes(v)).decode('ascii')}
        v = bytes(v).decode('utf-8', errors='replace')
    if isinstance(v, str):
        t = v.strip()
        if t.endswith('</svg>') and (t.startswith('<svg') or (t.startswith('<?xml') and '<svg' in t[:1000])):
            return {'type': 'image/svg+xml', 'data': t}
    return None


def split_result(res):
    """(raw metrics dict, artifacts dict) from a dict or an EvaluationResult-like object."""
    if isinstance(res, dict):
        return dict(res), {}
    metrics = getattr(res, 'metrics', None)
    if isinstance(metrics, dict):
        arts = getattr(res, 'artifacts', None)
        return dict(metrics), dict(arts) if isinstance(arts, dict) else {}
    raise TypeError(f'the evaluator returned {type(res).__name__}, expected a dict of metrics or an object with .metrics')


def numeric(metrics):
    out = {}
    for k, v in metrics.items():
        x = _number(v)
        if x is not None:
            out[str(k)] = x if math.isfinite(x) else None
    return out


def score(metrics):
    """OpenEvolve's stage score: combined_score, or the mean of the numeric metrics."""
    nums = numeric(metrics)
    if nums.get('combined_score') is not None:
        return nums['combined_score']
    vals = [v for k, v in nums.items() if v is not None and k != 'error']
    return sum(vals) / len(vals) if vals else 0.0


def convert(raw, artifacts, features=(), stage=0):
    nums = numeric(raw)
    arts = {}
    for k, v in raw.items():
        if _number(v) is None and v is not None:
            arts[str(k)] = _text(v)
    for k, v in artifacts.items():
        img = _image(v)
        arts[str(k)] = img if img is not None else _text(v)
    if 'combined_score' not in nums:
        vals = [v for v in nums.values() if v is not None]
        nums['combined_score'] = sum(vals) / len(vals) if vals else None
        arts.setdefault('combined_score_note', 'no combined_score: the mean of the numeric metrics (as OpenEvolve does)')
    error = raw.get('error')
    failed = bool(nums.get('__evaluation_failed__'))  # OpenEvolve's EVALUATION_FAILED_METRIC
    valid = not failed and not (isinstance(error, str) and error.strip()) and nums.get('combined_score') is not None
    if isinstance(error, str) and error.strip():
        arts.setdefault('feedback', error)
    elif not valid and not arts.get('feedback'):
        # the worker would otherwise say the evaluator reported "valid": false, which it never wrote
        arts['feedback'] = ("the evaluator returned OpenEvolve's EVALUATION_FAILED_METRIC without an 'error' saying why"
                            if failed else 'the evaluator returned no numeric metric: there is no combined_score')
    feats = {f: nums[f] for f in features if f in nums}
    return {'valid': valid, 'metrics': nums, 'features': feats, 'artifacts': arts, 'stage': stage}


def finite(obj):
    """NaN and infinities as null: the result must be strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def load_module(path):
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location('evaluator', path)
    module = importlib.util.module_from_spec(spec)
    sys.modules['evaluator'] = module
    spec.loader.exec_module(module)
    return module


def evaluator_args(evaluator_path):
    """evaluatorArgs of the problem.json beside the evaluator (written by FM Agent's loader), else {}."""
    try:
        with open(os.path.join(os.path.dirname(os.path.abspath(evaluator_path)), 'problem.json')) as f:
            args = json.load(f).get('evaluatorArgs')
    except (OSError, ValueError):
        return {}
    return args if isinstance(args, dict) else {}


def run_openevolve(module, candidate, thresholds, max_stage, kwargs=None):
    stage_fns = [getattr(module, f'evaluate_stage{i}', None) for i in (1, 2, 3)]
    if thresholds is None or not callable(stage_fns[0]):
        if not callable(getattr(module, 'evaluate', None)):
            raise AttributeError('evaluator.py defines neither evaluate(program_path) nor evaluate_stage1(program_path)')
        raw, arts = split_result(module.evaluate(candidate, **(kwargs or {})))
        return raw, arts, 0
    merged, merged_arts, stage = {}, {}, 0
    for i, fn in enumerate(stage_fns):
        if not callable(fn) or (max_stage and i >= max_stage):
            break
        if i > 0:
            threshold = thresholds[i - 1] if i - 1 < len(thresholds) else None
            if threshold is None or score(merged) < threshold:
                break
        raw, arts = split_result(fn(candidate))
        merged.update(raw)
        merged_arts.update(arts)
        stage = i + 1
    return merged, merged_arts, stage


def run_native_function(module, name, candidate):
    fn = getattr(module, name, None)
    if not callable(fn):
        raise AttributeError(f'the evaluator defines no function {name}(candidate_path)')
    res = fn(candidate)
    if isinstance(res, dict) and 'valid' in res and isinstance(res.get('metrics'), dict):
        return res  # already FM Agent's format
    raw, arts = split_result(res)
    return convert(raw, arts)


def _parser():
    p = argparse.ArgumentParser(prog='fm_openevolve.py')
    p.add_argument('--evaluator', required=True)
    p.add_argument('--thresholds', default=None)
    p.add_argument('--max-stage', type=int, default=0)
    p.add_argument('--features', default='')
    p.add_argument('--function', default=None)
    p.add_argument('candidate')
    return p


def plain_parser(parser):
    """The parser, holding what parse_args needs to read the plain form (each `--option`'s action, the
    positionals' actions), worked out once at import."""
    options, positionals = {}, []
    for action in parser._actions:
        if not action.option_strings:
            positionals.append(action)
        elif action.nargs is None and isinstance(action, argparse._StoreAction):
            for flag in action.option_strings:
                options[flag] = action
    parser.plain_form = (options, positionals)
    return parser


def parse_args(parser, argv):
    """parser.parse_args(argv). The form the worker writes (`--option value` pairs and the positionals, in
    any order) is read here: argparse's own parse touches enough of the launcher's objects to cost a
    forked evaluation ~100 page copies (~0.3 ms). Anything else (a missing required option,
    `--option=value`, `-h`, a value that starts with `-` or is not of its type) goes to argparse, which
    reads it or says what is wrong."""
    options, positionals = parser.plain_form
    values, rest, i = {}, [], 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith('-'):
            action = options.get(arg)
            if action is None or i + 1 == len(argv) or argv[i + 1].startswith('-') or action.dest in values:
                return parser.parse_args(argv)
            try:
                values[action.dest] = action.type(argv[i + 1]) if action.type else argv[i + 1]
            except (TypeError, ValueError):
                return parser.parse_args(argv)
            i += 2
        else:
            rest.append(arg)
            i += 1
    if len(rest) != len(positionals) or any(a.nargs is not None for a in positionals):
        return parser.parse_args(argv)
    for action in options.values():
        if action.dest not in values:
            if action.required:
                return parser.parse_args(argv)
            default = action.default
            values[action.dest] = action.type(default) if action.type and isinstance(default, str) else default
    for action, value in zip(positionals, rest):
        values[action.dest] = value
    return argparse.Namespace(**values)


# built at import: the launcher preloads this module, and building a parser costs ~6 ms per evaluation
# (argparse's formatter and translations) where parsing with a built one costs ~0.01 ms
PARSER = plain_parser(_parser())


def main(argv=None):
    args = parse_args(PARSER, sys.argv[1:] if argv is None else argv)
    real_stdout = _protect_stdout()
    module = load_module(args.evaluator)
    candidate = os.path.abspath(args.candidate)
    features = [f for f in args.features.split(',') if f]
    if args.function:
        out = run_native_function(module, args.function, candidate)
    else:
        thresholds = json.loads(args.thresholds) if args.thresholds else None
        raw, arts, stage = run_openevolve(module, candidate, thresholds, args.max_stage, evaluator_args(args.evaluator))
        out = convert(raw, arts, features, stage)
    real_stdout.write(json.dumps(finite(out), allow_nan=False, default=str) + '\n')
    real_stdout.flush()


if __name__ == '__main__':
    main()
