"""Shared plumbing for FM Agent's built-in evaluators.

The master copy lives in problems/_common/fm_evalkit.py; every problem folder carries an identical
copy (a problem folder travels alone as a bundle, so it cannot import from a sibling folder).
problems/problems.test.ts fails when a copy drifts; problems/_common/sync.py rewrites the copies.

What it gives an evaluator:
  * main(evaluate): the calling convention. The candidate path is the LAST argument; the result is
    printed as ONE JSON line on the real stdout, and fd 1 is pointed at stderr for everything else,
    so nothing the candidate or a library prints can be taken for the result.
  * call_candidate(...): runs a function of a Python candidate in a CHILD process and returns its
    (JSON-able) return value. The verifier never shares a process with candidate code, so a candidate
    cannot monkeypatch numpy, math or the checks themselves.
  * run_untrusted(cmd, *, timeout, files, ...): runs a command that executes candidate code. Under an
    FM Agent worker it runs in the worker's child sandbox (fm_sandbox.run_candidate: its own namespaces,
    this folder and the evaluator's processes out of sight) in a fresh work folder holding only `files`;
    elsewhere in a fresh temporary folder as a plain subprocess. call_candidate uses it.
  * run_process(...): runs a trusted command (a compiler, the baseline) with a wall-clock limit that
    kills its whole process group.
  * CandidateError: raise it anywhere in evaluate() for an invalid candidate with a clear reason.
What the candidate processes wrote on stderr (their prints, any attempt they made) is kept, bounded,
as the `candidate_output` artifact of every result.
"""
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

# Evaluators share a few cores with other evaluations, and an idle multi-threaded BLAS keeps spinning
# after each call, which would steal time from a program being timed: one thread, set before numpy loads.
for _var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_var, '1')

_REAL_STDOUT = None
MAX_TEXT = 4000
_CANDIDATE_OUTPUT = []  # stderr tails of the candidate processes, for the artifacts


class CandidateError(Exception):
    """The candidate is invalid; str(e) is the feedback shown to users and to the LLM."""

    def __init__(self, feedback, **artifacts):
        super().__init__(feedback)
        self.artifacts = artifacts


def tail(text, limit=MAX_TEXT):
    if isinstance(text, bytes):
        text = text.decode('utf-8', errors='replace')
    text = text or ''
    return text if len(text) <= limit else '...' + text[-limit:]


def protect_stdout():
    """Keep the real stdout for the result line only."""
    global _REAL_STDOUT
    if _REAL_STDOUT is not None:
        return
    sys.stdout.flush()
    _REAL_STDOUT = os.fdopen(os.dup(1), 'w')
    os.dup2(2, 1)


def _finite_numbers(d):
    out = {}
    for k, v in (d or {}).items():
        if isinstance(v, bool):
            v = float(v)
        if isinstance(v, (int, float)):
            out[str(k)] = float(v) if math.isfinite(v) else None
    return out


def result(valid, metrics=None, features=None, feedback='', **artifacts):
    arts = {'feedback': tail(feedback)}
    for k, v in artifacts.items():
        arts[k] = tail(v) if isinstance(v, (str, bytes)) else v
    return {'valid': bool(valid), 'metrics': metrics or {}, 'features': features or {}, 'artifacts': arts}


def invalid(feedback, **artifacts):
    return result(False, feedback=feedback, **artifacts)


def emit(res):
    res = dict(res)
    res['metrics'] = _finite_numbers(res.get('metrics'))
    res['features'] = _finite_numbers(res.get('features'))
    if res.get('valid') and any(v is None for v in res['metrics'].values()):
        res['valid'] = False
        res.setdefault('artifacts', {})['feedback'] = 'a metric came out NaN or infinite'
    line = json.dumps(res, allow_nan=False, default=str)
    out = _REAL_STDOUT or sys.stdout
    out.write(line + '\n')
    out.flush()


def main(evaluate):
    """evaluate(candidate_path) -> result dict. Always exits 0 with one JSON result line."""
    protect_stdout()
    started = time.perf_counter()
    if len(sys.argv) < 2:
        res = invalid('usage: evaluator.py <candidate-path> (the candidate path is the last argument)')
    else:
        candidate = sys.argv[-1]
        try:
            if not os.path.isfile(candidate):
                raise CandidateError(f'candidate file not found: {candidate}')
            res = evaluate(candidate)
        except CandidateError as e:
            res = invalid(str(e), **e.artifacts)
        except Exception:  # a bug of the evaluator, not of the candidate: say so
            res = invalid('evaluator error (not caused by the candidate): ' + tail(traceback.format_exc()),
                          evaluator_error=True)
    arts = res.setdefault('artifacts', {})
    arts['eval_time_s'] = round(time.perf_counter() - started, 3)
    seen = candidate_output()
    if seen and 'candidate_output' not in arts:
        arts['candidate_output'] = seen
    emit(res)
    sys.exit(0)


def candidate_output(limit=MAX_TEXT):
    """The tail of what candidate processes wrote on stderr (through call_candidate, run_untrusted or
    the worker's fm_sandbox.run_candidate)."""
    parts = list(_CANDIDATE_OUTPUT)
    helper = sys.modules.get('fm_sandbox')
    if helper is not None and hasattr(helper, 'recent_output'):
        parts.append(helper.recent_output())
    return tail('\n'.join(p for p in parts if p and p.strip()), limit)


class Completed:
    def __init__(self, returncode, stdout, stderr, timed_out, wall_s, cpu_s):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out
        self.wall_s = wall_s
        self.cpu_s = cpu_s


def child_env(threads=1):
    env = {k: v for k, v in os.environ.items() if not k.startswith('FM_')}
    # several evaluations share a few cores: one BLAS thread each unless the worker says otherwise
    for var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
        env.setdefault(var, str(threads))
    env['PYTHONDONTWRITEBYTECODE'] = '1'
    return env


def run_process(cmd, *, timeout, cwd=None, stdin=None, env=None):
    """Run a trusted command; kill its whole process group at `timeout` seconds. Wall and CPU time are
    measured here (CPU time as the growth of this process's waited-for children's usage: evaluators run
    one child at a time)."""
    import resource
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    timed_out = False
    try:
        out, err = proc.communicate(input=stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
    wall = time.perf_counter() - started
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return Completed(proc.returncode, out, err, timed_out, wall, cpu)


def run_untrusted(cmd, *, timeout, files=None, stdin=None, files_readonly=True):
    """Run a command that executes candidate code, in a fresh work folder holding only `files` (name in
    the folder -> a path readable here). Returns Completed plus .workdir (where it left its outputs).
    Under a worker: the child sandbox; elsewhere: a plain subprocess (fm_sandbox says so on stderr)."""
    import resource
    try:
        from fm_sandbox import run_candidate
    except ImportError:
        run_candidate = None
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    if run_candidate is not None:
        r = run_candidate(list(cmd), stdin=stdin, timeout=timeout, files=files, cwd_files_readonly=files_readonly)
        done = Completed(r.returncode, r.stdout, r.stderr, r.timed_out, 0.0, 0.0)
        done.workdir = r.workdir
    else:
        work = tempfile.mkdtemp(prefix='fm-run-')
        for name, src in (files or {}).items():
            dst = os.path.join(work, name)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy(src, dst)
        done = run_process(list(cmd), timeout=timeout, cwd=work, stdin=stdin, env=child_env())
        done.workdir = work
    done.wall_s = time.perf_counter() - started
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    done.cpu_s = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    if run_candidate is None and done.stderr:  # fm_sandbox keeps its own record
        _CANDIDATE_OUTPUT.append(tail(done.stderr, 2000))
    return done


def call_candidate(candidate_path, function, kwargs=None, *, timeout, arrays=(), threads=1):
    """Import the candidate in a child interpreter, call function(**kwargs), return (value, wall_s).

    kwargs must be JSON-able; names listed in `arrays` reach the candidate as numpy arrays.
    The value comes back through JSON (numpy arrays become lists; NaN/inf survive as floats).
    The child runs through run_untrusted: under a worker it cannot see this folder or this process.
    """
    with tempfile.TemporaryDirectory(prefix='fm-call-') as tmp:
        inp = os.path.join(tmp, 'input.json')
        with open(inp, 'w') as f:
            json.dump({'function': function, 'kwargs': kwargs or {}, 'arrays': list(arrays), 'threads': threads}, f)
        files = {'fm_evalkit_child.py': os.path.abspath(__file__), 'candidate.py': os.path.abspath(candidate_path),
                 'input.json': inp}
        cmd = [sys.executable, 'fm_evalkit_child.py', '--child', 'candidate.py', 'input.json', 'output.json']
        r = run_untrusted(cmd, timeout=timeout, files=files)
        logs = {'stdout': tail(r.stdout), 'stderr': tail(r.stderr)}
        outp = os.path.join(r.workdir, 'output.json')
        try:
            if r.timed_out:
                raise CandidateError(f'{function}() did not return within {timeout:g} s (killed)', **logs)
            if not os.path.isfile(outp):
                raise CandidateError(f'the candidate process ended (exit code {r.returncode}) before {function}() returned',
                                     **logs)
            with open(outp) as f:
                try:
                    payload = json.load(f)
                except ValueError as e:
                    raise CandidateError(f'could not read the value returned by {function}(): {e}', **logs)
        finally:
            shutil.rmtree(r.workdir, ignore_errors=True)
        if not isinstance(payload, dict) or not payload.get('ok'):
            raise CandidateError(str(payload.get('error', 'the candidate failed') if isinstance(payload, dict) else 'the candidate failed'), **logs)
        if 'value' not in payload:
            raise CandidateError(f'{function}() returned nothing readable', **logs)
        return payload['value'], r.wall_s


def _jsonable(x):
    try:
        import numpy as np
        if isinstance(x, np.ndarray):
            return x.tolist()
        if isinstance(x, np.generic):
            return x.item()
    except ImportError:
        pass
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (bool, int, float, str)) or x is None:
        return x
    if hasattr(x, 'tolist'):
        return _jsonable(x.tolist())
    raise TypeError(f'cannot serialise a value of type {type(x).__name__}')


def _child(candidate_path, inp, outp):
    """Child side of call_candidate: runs candidate code, never trusted by the parent."""
    with open(inp) as f:
        spec = json.load(f)
    function = spec['function']
    for var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ[var] = str(spec.get('threads', 1))
    try:
        sys.stdout = sys.stderr  # the candidate's prints are logs, not results
        import importlib.util
        sys.path.insert(0, os.path.dirname(candidate_path))
        mod_spec = importlib.util.spec_from_file_location('candidate', candidate_path)
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules['candidate'] = module
        mod_spec.loader.exec_module(module)
        fn = getattr(module, function, None)
        if not callable(fn):
            raise AttributeError(f'the candidate defines no function {function}()')
        kwargs = spec['kwargs']
        if spec['arrays']:
            import numpy as np
            for name in spec['arrays']:
                kwargs[name] = np.asarray(kwargs[name])
        value = _jsonable(fn(**kwargs))
        payload = {'ok': True, 'value': value}
    except BaseException as e:  # SystemExit included: the candidate must return, not exit
        tb = traceback.format_exc()
        payload = {'ok': False, 'error': f'{function}() raised {type(e).__name__}: {e}\n' + tail(tb, 2500)}
    with open(outp, 'w') as f:
        json.dump(payload, f)


if __name__ == '__main__' and len(sys.argv) == 5 and sys.argv[1] == '--child':
    _child(sys.argv[2], sys.argv[3], sys.argv[4])
