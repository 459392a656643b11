"""fm_launcher: a pre-started sandbox launcher (a "zygote") that runs evaluation steps.

The worker starts one launcher per evaluation slot, already inside the outer sandbox (bubblewrap as an
unprivileged uid: its own user, pid, network, ipc and uts namespaces, a read-only root, private /tmp,
masked secret folders). Starting bwrap + python costs ~30 ms of CPU per process on a small machine,
which alone would cap a 2-core box near 60 evaluations/s; forking this warm interpreter costs ~3 ms.

For each request (one JSON line on stdin) the launcher forks:
  A  a fresh mount namespace and pid namespace (unshare); private tmpfs /tmp and /dev/shm;
  B  pid 1 of that pid namespace: mounts its /proc, enforces the wall-clock timeout, reaps orphans and,
     when the evaluation ends, SIGKILLs everything left in the namespace (so `setsid` orphans die);
  C  drops every capability (and, in the root fallback, its uid), sets rlimits (CPU, address space,
     processes, file size), closes every inherited descriptor (the control pipes included), and then
     either execs the evaluator or, for a Python evaluator, runs it in this already-warm interpreter.
B reports exit status, timing and rusage to the launcher over a pipe that C closes before any untrusted
code runs; the launcher answers one JSON line on stdout.

Modes (argv[1] is a JSON config): "userns" (inside bwrap with capabilities in its own user namespace),
"rootns" (run as root by `unshare`; C drops to the sandbox uid) and "none" (no namespaces: a
subreaper, a process-tree kill and the uid drop when root; no network isolation).
"""
import ctypes
import json
import os
import resource
import select
import signal
import sys
import time

CONFIG = json.loads(sys.argv[1]) if __name__ == '__main__' and len(sys.argv) > 1 else {}
MODE = CONFIG.get('mode', 'none')
NS = MODE in ('userns', 'rootns')
SANDBOX_UID = int(CONFIG.get('uid', 65534))
SANDBOX_GID = int(CONFIG.get('gid', 65534))
DROP_UID = MODE == 'rootns' or (MODE == 'none' and os.geteuid() == 0)

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REC, MS_PRIVATE = 16384, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER = 1, 24, 36
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4


def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f'{what}: {os.strerror(err)}')


def mount(src, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if isinstance(s, str) else s
    _check(libc.mount(enc(src), enc(target), enc(fstype), flags, enc(data)), f'mount {target}')


class _CapHeader(ctypes.Structure):
    _fields_ = [('version', ctypes.c_uint32), ('pid', ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [('effective', ctypes.c_uint32), ('permitted', ctypes.c_uint32), ('inheritable', ctypes.c_uint32)]


def drop_capabilities():
    """Empties the bounding, ambient, effective, permitted and inheritable sets, then sets no_new_privs."""
    for cap in range(64):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last capability: ignored
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(libc.capset(ctypes.byref(header), data), 'capset')
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 'no_new_privs')


def write_report(fd, obj):
    # one short line per write: atomic on a pipe (< PIPE_BUF)
    os.write(fd, (json.dumps(obj) + '\n').encode())


def tmpfs(target, size_mb):
    if os.path.isdir(target):
        mount('tmpfs', target, 'tmpfs', MS_NOSUID | MS_NODEV, f'size={int(size_mb)}m,mode=1777')


def setup_launcher():
    """Once, at start. In the root fallback the launcher hides the configured folders itself (bwrap does it
    in userns mode)."""
    if MODE == 'rootns':
        mount(None, '/', None, MS_REC | MS_PRIVATE)
        # the slot folder may live inside a hidden folder: keep a handle on it, put it back afterwards
        keep = {p: os.open(p, os.O_PATH) for p in CONFIG.get('keep', []) if os.path.isdir(p)}
        # /var/tmp is world-writable and, without a read-only root, would outlive the evaluation
        for path in CONFIG.get('hide', []) + ['/var/tmp']:
            try:
                if os.path.isdir(path):
                    mount('tmpfs', path, 'tmpfs', MS_NOSUID | MS_NODEV, 'size=1m,mode=755')
                elif os.path.exists(path):
                    mount('/dev/null', path, None, 4096)  # MS_BIND
            except OSError as e:
                print(f'fm_launcher: could not hide {path}: {e}', file=sys.stderr)
        for path, fd in keep.items():
            os.makedirs(path, exist_ok=True)
            mount(f'/proc/self/fd/{fd}', path, None, 4096 | MS_REC)  # MS_BIND
            os.close(fd)


# --------------------------------------------------------------------------------------------- C
def stage_c(req, wfd, report_started):
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGALRM, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    os.setsid()
    devnull = os.open('/dev/null', os.O_RDONLY)
    out = os.open(req['stdout'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.open(req['stderr'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600) if req.get('stderr') else out
    for src, dst in ((devnull, 0), (out, 1), (err, 2)):
        os.dup2(src, dst)
    if report_started:
        write_report(wfd, {'started': time.monotonic()})
    # every inherited descriptor goes, the launcher's control pipes and B's report pipe included
    os.closerange(3, 1 << 20)
    os.chdir(req['cwd'])
    limits = req.get('limits', {})
    if DROP_UID:
        os.setgroups([])
        os.setgid(SANDBOX_GID)
        os.setuid(SANDBOX_UID)
    set_limit = resource.setrlimit
    if limits.get('as'):
        set_limit(resource.RLIMIT_AS, (limits['as'], limits['as']))
    if limits.get('cpu'):
        cpu = int(max(1, limits['cpu']))
        set_limit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL one second later
    if limits.get('nproc'):
        set_limit(resource.RLIMIT_NPROC, (limits['nproc'], limits['nproc']))
    if limits.get('fsize'):
        set_limit(resource.RLIMIT_FSIZE, (limits['fsize'], limits['fsize']))
    set_limit(resource.RLIMIT_NOFILE, (limits.get('nofile', 1024),) * 2)
    set_limit(resource.RLIMIT_CORE, (0, 0))
    if MODE == 'userns':
        drop_capabilities()
    else:
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    env = req['env']
    argv = req['argv']
    if req.get('python'):
        run_python_inline(argv, env)
    # exec'd programs must not inherit Python's ignored SIGPIPE / SIGXFSZ
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    try:
        os.execve(argv[0], argv, env)
    except OSError as e:
        os.write(2, f'fm_launcher: cannot execute {argv[0]}: {e.strerror}\n'.encode())
        os._exit(127)


def run_python_inline(argv, env):
    """Runs `python3 script args…` in this warm interpreter, as the script's __main__."""
    import builtins
    import io
    import types

    os.environ.clear()
    os.environ.update(env)
    sys.stdin = open(0, 'r', closefd=False)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, 'w', closefd=False), encoding='utf-8', errors='backslashreplace', line_buffering=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, 'w', closefd=False), encoding='utf-8', errors='backslashreplace', line_buffering=True)
    sys.__stdout__, sys.__stderr__, sys.__stdin__ = sys.stdout, sys.stderr, sys.stdin
    if 'random' in sys.modules:  # a forked interpreter shares its parent's generator state
        sys.modules['random'].seed()
    script = os.path.abspath(argv[0])
    sys.argv = [argv[0], *argv[1:]]
    sys.path[0] = os.path.dirname(script)
    main = types.ModuleType('__main__')
    main.__file__ = script
    main.__builtins__ = builtins
    main.__spec__ = None
    sys.modules['__main__'] = main
    code = 0
    try:
        with open(script, 'rb') as f:
            source = f.read()
        exec(compile(source, script, 'exec'), main.__dict__)
    except SystemExit as e:
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    try:
        if 'threading' in sys.modules:
            sys.modules['threading']._shutdown()
        import atexit

        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    os._exit(code & 0xFF)


# --------------------------------------------------------------------------------------------- B
def list_children(pid):
    """Direct children of `pid` (the fallback mode has no pid namespace to tear down)."""
    kids = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open(f'/proc/{name}/stat', 'rb') as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(b')') + 2:].split()[1])
        except (OSError, ValueError):
            continue
        if ppid == pid:
            kids.append(int(name))
    return kids


def kill_everything(c_pid):
    if NS:
        try:
            os.kill(-1, signal.SIGKILL)  # pid 1 of its namespace: every process in it but itself
        except ProcessLookupError:
            pass
        return
    try:
        os.killpg(c_pid, signal.SIGKILL)
    except OSError:
        pass
    me = os.getpid()
    for _ in range(1000):
        kids = list_children(me)
        if not kids:
            return
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except OSError:
                pass
        reap_all(block=False)


def reap_all(block):
    reaped = []
    while True:
        try:
            pid, status, ru = os.wait4(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped.append((pid, status, ru))


def stage_b(req, wfd):
    t0 = time.monotonic()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if NS:
        mount('proc', '/proc', 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC)
    else:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    rpipe, wpipe = os.pipe()
    os.set_blocking(rpipe, False)
    os.set_blocking(wpipe, False)
    signal.set_wakeup_fd(wpipe)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    c_pid = os.fork()
    if c_pid == 0:
        try:
            os.close(rpipe)
            os.close(wpipe)
            stage_c(req, wfd, True)
        except BaseException as e:  # setup failed before the evaluator ran
            try:
                os.write(2, f'fm_launcher: sandbox setup failed: {e!r}\n'.encode())
            except OSError:
                pass
        os._exit(126)
    timeout = float(req.get('timeout', 30))
    deadline = t0 + timeout
    c_status = None
    timed_out = False
    while c_status is None:
        for pid, status, _ru in reap_all(block=False):
            if pid == c_pid:
                c_status = status
        if c_status is not None:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        try:
            select.select([rpipe], [], [], remaining)
            os.read(rpipe, 4096)
        except (BlockingIOError, InterruptedError):
            pass
    wall = time.monotonic() - t0
    kill_everything(c_pid)
    for pid, status, _ru in reap_all(block=True):
        if pid == c_pid and c_status is None:
            c_status = status
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = {
        'final': True,
        'timedOut': timed_out,
        'wallMs': round(wall * 1000, 3),
        'cpuMs': round((ru.ru_utime + ru.ru_stime) * 1000, 3),
        'maxRssKb': ru.ru_maxrss,
        'exitCode': None,
        'signal': None,
    }
    if c_status is not None:
        if os.WIFEXITED(c_status):
            report['exitCode'] = os.WEXITSTATUS(c_status)
        elif os.WIFSIGNALED(c_status):
            report['signal'] = signal.Signals(os.WTERMSIG(c_status)).name
    write_report(wfd, report)
    os._exit(0)


# --------------------------------------------------------------------------------------------- A
def stage_a(req, wfd):
    if NS:
        _check(libc.unshare(CLONE_NEWNS | CLONE_NEWPID), 'unshare')
        mount(None, '/', None, MS_REC | MS_PRIVATE)
        size = req.get('tmpfsMb', 256)
        targets = ('/tmp', '/dev/shm')
        # a slot folder under /tmp or /dev/shm (a non-root worker with its cache there) must survive the
        # fresh tmpfs: keep a handle on it and bind it back
        keep = {p: os.open(p, os.O_PATH) for p in CONFIG.get('keep', [])
                if any(p.startswith(t + '/') for t in targets) and os.path.isdir(p)}
        for target in targets:
            tmpfs(target, size)
        for path, fd in keep.items():
            os.makedirs(path, exist_ok=True)
            mount(f'/proc/self/fd/{fd}', path, None, 4096 | MS_REC)  # MS_BIND
            os.close(fd)
    b_pid = os.fork()
    if b_pid == 0:
        try:
            stage_b(req, wfd)
        except BaseException as e:
            write_report(wfd, {'infra': f'sandbox setup failed: {e!r}'})
        os._exit(0)
    os.close(wfd)
    os.waitpid(b_pid, 0)


def handle(req):
    t0 = time.monotonic()
    rfd, wfd = os.pipe()
    a_pid = os.fork()
    if a_pid == 0:
        try:
            os.close(rfd)
            stage_a(req, wfd)
        except BaseException as e:
            try:
                write_report(wfd, {'infra': f'sandbox setup failed: {e!r}'})
            except OSError:
                pass
        os._exit(0)
    os.close(wfd)
    # backstop: B enforces the timeout; if B itself is stuck, killing A kills B (PDEATHSIG) and its namespace
    deadline = t0 + float(req.get('timeout', 30)) + 3.0
    buf = b''
    backstop = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            backstop = True
            os.kill(a_pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([rfd], [], [], remaining)
        if ready:
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            buf += chunk
    os.close(rfd)
    os.waitpid(a_pid, 0)
    started = None
    final = None
    infra = None
    for line in buf.decode(errors='replace').splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if 'started' in msg:
            started = msg['started']
        elif msg.get('final'):
            final = msg
        elif 'infra' in msg:
            infra = msg['infra']
    resp = {'id': req.get('id')}
    if final is None:
        resp['infra'] = infra or ('the sandbox did not report (killed by the launcher backstop)' if backstop else 'the sandbox did not report')
        if backstop:
            resp['timedOut'] = True
    else:
        resp.update(final)
        resp.pop('final', None)
    resp['setupMs'] = round(((started or time.monotonic()) - t0) * 1000, 3)
    return resp


def main():
    setup_launcher()
    out = sys.stdout
    out.write(json.dumps({'ready': True, 'mode': MODE, 'pid': os.getpid(), 'uid': os.getuid()}) + '\n')
    out.flush()
    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:
            return
        try:
            req = json.loads(line)
        except ValueError:
            continue
        op = req.get('op', 'run')
        if op == 'exit':
            return
        if op == 'ping':
            resp = {'id': req.get('id'), 'pong': True}
        else:
            try:
                resp = handle(req)
            except BaseException as e:
                resp = {'id': req.get('id'), 'infra': f'launcher error: {e!r}'}
        out.write(json.dumps(resp) + '\n')
        out.flush()


if __name__ == '__main__':
    main()
