"""TEST STAND-IN for workers/python/fm_sandbox.py (written by the workers engineer).

Same signature as the real helper, but NO isolation: it copies `files` into a fresh temporary work
directory and runs the command there as a plain subprocess. problems/ tests use it where the real
helper is missing, and always in the tests that record what an evaluator hands to the candidate:
when FM_SANDBOX_STANDIN_LOG is set, every call is appended to that file as one JSON line (e.g. to
check that no private path is ever passed). Real isolation is tested against the real helper.
"""
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from types import SimpleNamespace

_WORKDIRS = []


def _cleanup():
    for d in _WORKDIRS:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def run_candidate(cmd, *, stdin=None, timeout, files=None, cwd_files_readonly=True):
    print('fm_sandbox stand-in: running the candidate WITHOUT a child sandbox', file=sys.stderr)
    workdir = tempfile.mkdtemp(prefix='fm-standin-')
    _WORKDIRS.append(workdir)
    for name, src in (files or {}).items():
        dst = os.path.join(workdir, name)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        if cwd_files_readonly:
            os.chmod(dst, 0o444)
    log = os.environ.get('FM_SANDBOX_STANDIN_LOG')
    if log:
        with open(log, 'a') as f:
            f.write(json.dumps({'cmd': list(cmd), 'files': dict(files or {}), 'timeout': timeout}) + '\n')
    proc = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    timed_out = False
    try:
        out, err = proc.communicate(input=stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    return SimpleNamespace(returncode=proc.returncode, stdout=out, stderr=err, timed_out=timed_out, workdir=workdir)
