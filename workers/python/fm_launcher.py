"""fm_launcher: a pre-started sandbox launcher (a "zygote") that runs evaluation steps.

The worker starts one launcher per evaluation slot, already inside the outer sandbox (bubblewrap as an
unprivileged uid: its own user, pid, network, ipc and uts namespaces, a read-only root, private /tmp,
masked secret folders). Starting bwrap + python costs ~30 ms of CPU per process on a small machine,
which alone would cap a 2-core box near 60 evaluations/s; forking this warm interpreter costs ~3 ms.

The launcher itself is
  P  pid 1 of the sandbox's pid namespace (bwrap --as-pid-1; `unshare --pid --fork` in the root
     fallback), in a mount namespace of its own, for its whole life. Killing it kills everything in
     the namespace; it dies with bwrap (PDEATHSIG). (It had forked a second interpreter as pid 1 of a
     namespace of its own, beside bwrap's reaper: ~17 MB more in every slot, for a backstop the worker
     keeps anyway.)
For each request (one JSON line on stdin) P mounts a fresh tmpfs on /tmp and /dev/shm and the request's
masks, forks C, enforces the wall-clock timeout and reaps orphans; when the evaluation ends it SIGKILLs
everything else in the namespace (so `setsid` orphans die) and takes its mounts down again: the next
evaluation starts with nothing the last one left. (It had been three forks per evaluation: ~40 % of a
trivial evaluation's CPU went to forking, copying pages and exiting.) A request P cannot set up is
answered with `restart` and P exits: the worker starts a new launcher for the next one.
  C  drops every capability (and, in the root fallback, its uid), sets rlimits (CPU, address space,
     processes, file size), installs a seccomp filter that refuses ptrace, process_vm_readv/writev and
     pidfd_getfd (nothing in the evaluation can read or write another process's memory), closes every
     inherited descriptor (the control pipes included), and then either execs the evaluator or, for a
     Python evaluator, runs it in this already-warm interpreter, made non-dumpable (its /proc files and
     memory closed to the candidate processes it starts).
C reports when it started over a pipe it closes before any untrusted code runs; P answers one JSON
line on stdout (exit status, timing, rusage). P keeps its capabilities: no process of an
evaluation can trace it, signal it (pid 1 ignores what it has no handler for) or read its descriptors.

The result channel. P opens the step's output files (stdout, the other processes' stdout, stderr, the
result file), then masks their folder and the request's `mask` paths (e.g. a problem's private files
during a compile step) in the evaluation's mount namespace: no process of the evaluation can open
them by path. C's stdout is a Unix socket to P (a socket, unlike a pipe or a file, cannot be reopened
through /proc/<pid>/fd); P receives with SO_PASSCRED, so each chunk carries its writer's pid, and
writes what C itself wrote to `stdout`, what any other process wrote to `stdoutOther`. Its stderr is a
pipe P reads into the stderr file, keeping the end (see Tail). The result file
reaches C as descriptor 3 ($FM_RESULT_FILE = /proc/self/fd/3): only C and what inherits it can write it.

Modes ($FM_LAUNCHER_CONFIG is a JSON config): "userns" (inside bwrap with capabilities in its own user namespace),
"rootns" (run as root by `unshare`; C drops to the sandbox uid) and "none" (no namespaces: a
subreaper, a process-tree kill and the uid drop when root; no network isolation).
"""
import atexit
import builtins
import ctypes
import fcntl
import gc
import importlib
import io
import json
import os
import resource
import select
import _signal
import signal
import socket
import struct
import sys
import time
import traceback
import types

# from the environment, not argv: pid 1 of an evaluation's namespace is a fork of this process, and an
# evaluation reads its command line (the paths the sandbox hides, the data folder among them)
CONFIG = json.loads(os.environ.pop('FM_LAUNCHER_CONFIG', '{}')) if __name__ == '__main__' else {}
MODE = CONFIG.get('mode', 'none')
NS = MODE in ('userns', 'rootns')
SANDBOX_UID = int(CONFIG.get('uid', 65534))
SANDBOX_GID = int(CONFIG.get('gid', 65534))
DROP_UID = MODE == 'rootns' or (MODE == 'none' and os.geteuid() == 0)

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REC, MS_PRIVATE = 16384, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER = 1, 24, 36
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
PR_SET_DUMPABLE, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 4, 22, 2
MS_BIND = 4096
MS_REMOUNT = 32
# statvfs's flags of a mount, as mount(2) takes them: a remount must keep what is locked on it
MOUNT_FLAGS_OF_STATVFS = ((1, 1), (2, 2), (4, 4), (8, 8), (1024, 1024), (2048, 2048), (4096, 1 << 21))
MNT_DETACH = 2
OUT_CAP = 64 * 1024 * 1024  # per output file; past it the file restarts (the runner reads tails)
ERR_CAP = 8 * 1024 * 1024  # stderr's file: the runner keeps its last 64 KiB


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


def _last_cap():
    try:
        with open('/proc/sys/kernel/cap_last_cap') as f:
            return int(f.read())
    except (OSError, ValueError):
        return 63  # past the last one PR_CAPBSET_DROP fails with EINVAL, which is ignored


CAP_LAST = _last_cap()
# P empties its own bounding set once (it never execs: what it may do is its effective set's) and its
# evaluations, in P's user namespace, inherit the empty set instead of making 64 prctl calls each
BOUNDING_EMPTY = False


def drop_bounding_set():
    """Empties the bounding and ambient sets: no exec'd program can gain a capability again."""
    for cap in range(CAP_LAST + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


# made once: building ctypes objects (a foreign function's too, on its first lookup) in a forked
# evaluation copies dozens of P's pages
_CAP_HEADER_REF = ctypes.byref(_CapHeader(0x20080522, 0))  # _LINUX_CAPABILITY_VERSION_3
_CAP_NONE = (_CapData * 2)()
_capset = libc.capset


def drop_capabilities(bounding=True):
    """Empties the bounding (unless the caller knows it is), ambient, effective, permitted and inheritable
    sets, then sets no_new_privs. A new user namespace starts with a full bounding set again."""
    if bounding:
        drop_bounding_set()
    _check(_capset(_CAP_HEADER_REF, _CAP_NONE), 'capset')
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 'no_new_privs')


class _SockFilter(ctypes.Structure):
    _fields_ = [('code', ctypes.c_uint16), ('jt', ctypes.c_uint8), ('jf', ctypes.c_uint8), ('k', ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.POINTER(_SockFilter))]


# (audit arch, syscalls refused: ptrace, process_vm_readv, process_vm_writev, pidfd_getfd)
_SECCOMP_ARCH = {'x86_64': (0xC000003E, (101, 310, 311, 438)), 'aarch64': (0xC00000B7, (117, 270, 271, 438))}
_SYS_SECCOMP = {'x86_64': 317, 'aarch64': 277}
libc.syscall.restype = ctypes.c_long


def _deny_filter():
    """The seccomp program (built once, in the warm launcher: each evaluation only installs it)."""
    arch = _SECCOMP_ARCH.get(os.uname().machine)
    if arch is None:
        return None
    audit, denied = arch
    ld_w_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, eperm = 0x7FFF0000, 0x00050000 | 1
    prog = [(ld_w_abs, 0, 0, 4)]  # seccomp_data.arch
    prog.append((jeq, 1, 0, audit))  # native: skip the deny
    prog.append((ret, 0, 0, eperm))
    prog.append((ld_w_abs, 0, 0, 0))  # seccomp_data.nr
    n = len(denied)
    if audit == 0xC000003E:
        prog.append((jge, n + 1, 0, 0x40000000))  # x32 ABI: deny
    for i, nr in enumerate(denied):
        prog.append((jeq, n - i, 0, nr))  # -> the deny below
    prog.append((ret, 0, 0, allow))
    prog.append((ret, 0, 0, eperm))
    arr = (_SockFilter * len(prog))(*[_SockFilter(*ins) for ins in prog])
    fprog = _SockFprog(len(prog), arr)
    return fprog, arr  # arr: kept alive with the program


_DENY = _deny_filter()


def deny_process_access():
    """A seccomp filter: no ptrace, no process_vm_readv/writev, no pidfd_getfd (EPERM), and no syscall of a
    foreign ABI (x32, i386 through int 0x80, where those numbers differ). Inherited by every descendant."""
    if _DENY is None:
        raise OSError(f'no seccomp filter for {os.uname().machine}')
    # SECCOMP_FILTER_FLAG_SPEC_ALLOW: where the kernel mitigates speculative store bypass for seccomp'd
    # tasks by default, that slows the evaluation's own compute (and candidates'); this filter is about
    # access to other processes, not about speculation. Older kernels without the flag: plain prctl.
    nr = _SYS_SECCOMP.get(os.uname().machine)
    if nr is not None and libc.syscall(nr, 1, 1 << 2, ctypes.c_void_p(ctypes.addressof(_DENY[0]))) == 0:
        return
    _check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(_DENY[0]), 0, 0), 'seccomp')


def mask(path):
    """Hide a folder (an empty tmpfs) or a file (/dev/null) in this mount namespace; True if it did."""
    if os.path.isdir(path) and not os.path.islink(path):
        mount('tmpfs', path, 'tmpfs', MS_NOSUID | MS_NODEV | MS_RDONLY, 'size=1m,mode=755')
        return True
    if os.path.exists(path):
        mount('/dev/null', path, None, MS_BIND)
        return True
    return False


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
                    mount('/dev/null', path, None, MS_BIND)
            except OSError as e:
                print(f'fm_launcher: could not hide {path}: {e}', file=sys.stderr)
        for path, fd in keep.items():
            os.makedirs(path, exist_ok=True)
            mount(f'/proc/self/fd/{fd}', path, None, MS_BIND | MS_REC)
            os.close(fd)


# --------------------------------------------------------------------------------------------- C
# P's handlers C must not keep, as plain numbers for the C module: signal.signal's conversions to and
# from its enums, run first in a fork, copy ~40 of P's pages
_RESET_SIGNALS = tuple(int(s) for s in (signal.SIGCHLD, signal.SIGALRM, signal.SIGTERM, signal.SIGINT))


def stage_c(req, wfd, report_started, fds, env_set=False):
    """fds: the evaluation's stdin (/dev/null), stdout (the socket to P), stderr and result file; env_set:
    P has made os.environ the step's environment."""
    _signal.set_wakeup_fd(-1)
    for sig in _RESET_SIGNALS:
        _signal.signal(sig, _signal.SIG_DFL)
    os.setsid()
    if report_started:
        write_report(wfd, {'started': time.monotonic()})
    # out of the way first (any of them may sit on 0..3), then into place
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target)
    # every inherited descriptor goes, P's control pipes and its report pipe included
    os.closerange(len(high), 1 << 20)
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
        drop_capabilities(bounding=not BOUNDING_EMPTY)
    else:
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    deny_process_access()
    env = req['env']
    argv = req['argv']
    if req.get('python'):
        # exec would make it dumpable again; here it stays closed to the processes it starts
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        if not env_set:
            set_environ(env)
        run_python_inline(argv)
    # exec'd programs must not inherit Python's ignored SIGPIPE / SIGXFSZ
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    try:
        os.execve(argv[0], argv, env)
    except OSError as e:
        os.write(2, f'fm_launcher: cannot execute {argv[0]}: {e.strerror}\n'.encode())
        os._exit(127)


def set_environ(env):
    """os.environ becomes exactly `env`, writing only what differs: most of it is already so (the same
    allow-list; in P, the last step's values)."""
    for key in [k for k in os.environ if k not in env]:
        del os.environ[key]
    for key, value in env.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


def run_python_inline(argv):
    """Runs `python3 script args…` in this warm interpreter, as the script's __main__ (a preloaded adapter:
    its main() with the arguments), its environment set."""

    sys.stdin = open(0, 'r', closefd=False)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, 'w', closefd=False), encoding='utf-8', errors='backslashreplace', line_buffering=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, 'w', closefd=False), encoding='utf-8', errors='backslashreplace', line_buffering=True)
    sys.__stdout__, sys.__stderr__, sys.__stdin__ = sys.stdout, sys.stderr, sys.stdin
    if 'random' in sys.modules:  # a forked interpreter shares its parent's generator state
        sys.modules['random'].seed()
    script = os.path.abspath(argv[0])
    sys.argv = [argv[0], *argv[1:]]
    sys.path[0] = os.path.dirname(script)
    shim = PRELOADED.get(script)
    if shim is None:
        main = types.ModuleType('__main__')
        main.__file__ = script
        main.__builtins__ = builtins
        main.__spec__ = None
        sys.modules['__main__'] = main
    code = 0
    try:
        if shim is not None:
            shim.main(sys.argv[1:])
        else:
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
        traceback.print_exc()
        code = 1
    try:
        if 'threading' in sys.modules:
            sys.modules['threading']._shutdown()
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    os._exit(code & 0xFF)


# --------------------------------------------------------------------------------------------- P
# A forked C shares P's pages until it writes to them, and each first write costs a page fault and a
# copy (~3 us here, ~700 of them in a trivial evaluation: most of its CPU). A garbage collection in C
# or in P while C lives would write to the header of every object it walks: frozen objects (all of P's
# at the fork) are never walked. P's own cyclic garbage is collected every FREEZE_COLLECT_EVERY forks.
FREEZE_COLLECT_EVERY = 1024
_forks = 0


def freeze_before_fork():
    global _forks
    _forks += 1
    if _forks % FREEZE_COLLECT_EVERY == 0:
        gc.unfreeze()
        gc.collect()
    gc.freeze()


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


def append_capped(fd, size, data, cap):
    """Appends to an output file of `size` bytes; past `cap` it restarts, keeping the most recent part
    (a result is at the end, and the runner reads tails). (new size, whether it restarted)."""
    restarted = size + len(data) > cap
    if restarted:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        size = 0
    os.write(fd, data)
    return size + len(data), restarted


class Relay:
    """P's side of the evaluator's stdout: routes each chunk by its writer's pid."""

    def __init__(self, sock, own_pid, out_fd, other_fd):
        self.sock = sock
        self.own = own_pid
        self.fds = {True: out_fd, False: other_fd}
        self.sizes = {True: 0, False: 0}
        # bytes of the line being written (since the stream's last newline), and, once a file has
        # restarted, what its first line had before the restart: the runner then knows that line's
        # whole size (a result line too long to read is named with its size)
        self.line = {True: 0, False: 0}
        self.carried = {}
        self.open = True

    def _write(self, own, data):
        self.sizes[own], restarted = append_capped(self.fds[own], self.sizes[own], data, OUT_CAP)
        if restarted:
            self.carried[own] = self.line[own]
        nl = data.rfind(b'\n')
        self.line[own] = len(data) - nl - 1 if nl >= 0 else self.line[own] + len(data)

    def pump(self, budget=64):
        """Reads what is there (at most `budget` chunks); False at end of stream."""
        space = socket.CMSG_SPACE(12)
        for _ in range(budget):
            try:
                data, anc, _flags, _addr = self.sock.recvmsg(65536, space)
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                self.open = False
                return False
            if not data:
                self.open = False
                return False
            pid = None
            for level, kind, raw in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(raw) >= 12:
                    pid = struct.unpack('iII', raw[:12])[0]
            try:
                self._write(pid == self.own, data)
            except OSError:
                pass
        return True


class Tail:
    """P's side of the evaluation's stderr: a pipe (any process of the evaluation may write it, and a
    shell's `>/dev/stderr` reopens it) read into its file, which restarts past ERR_CAP, so a verbose
    evaluator keeps its result and the runner still reads the end; as a plain file it had met the
    file-size limit, and the evaluator died of it."""

    def __init__(self, rfd, fd):
        self.rfd = rfd
        self.fd = fd
        self.size = 0
        self.open = True

    def pump(self, budget=64):
        """Reads what is there (at most `budget` chunks); False at end of stream."""
        for _ in range(budget):
            try:
                data = os.read(self.rfd, 65536)
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                data = b''
            if not data:
                self.open = False
                return False
            try:
                self.size = append_capped(self.fd, self.size, data, ERR_CAP)[0]
            except OSError:
                pass
        return True


class Holder:
    """P: pid 1 of the evaluations' pid namespace, kept for the launcher's life (the module's docstring
    says what it does for each evaluation)."""

    def __init__(self, wfd):
        self.wfd = wfd
        self.mounted = []  # this evaluation's mounts, taken down after it, last first
        self.keep = {}
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if MODE == 'rootns':
            # `unshare --pid` leaves the host's /proc in place (bwrap mounts its namespace's own)
            mount('proc', '/proc', 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC)
        if NS:
            # a slot folder under /tmp or /dev/shm (a non-root worker with its cache there) must survive
            # each fresh tmpfs: a handle on it, taken before the first, is bound back after each
            self.keep = {p: os.open(p, os.O_PATH) for p in CONFIG.get('keep', [])
                         if any(p.startswith(t + '/') for t in TMP_TARGETS) and os.path.isdir(p)}
        else:
            libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        rpipe, wpipe = os.pipe()
        os.set_blocking(rpipe, False)
        os.set_blocking(wpipe, False)
        signal.set_wakeup_fd(wpipe)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        # pid 1 gets a signal from inside its namespace only where it has a handler: Python's own for
        # SIGINT raised KeyboardInterrupt here, from any candidate (stage_c restores it in C)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.wake = (rpipe, wpipe)

    def prepare(self, req):
        if NS:
            for target in TMP_TARGETS:
                if os.path.isdir(target):
                    tmpfs(target, req.get('tmpfsMb', 256))
                    self.mounted.append(target)
            for path, fd in self.keep.items():
                os.makedirs(path, exist_ok=True)
                mount(f'/proc/self/fd/{fd}', path, None, MS_BIND | MS_REC)
                self.mounted.append(path)
        outs = open_outputs(req)
        if NS:
            self.seal_slot(req.get('cwd') or '')
            for path in req.get('mask', []) + ([req['outDir']] if req.get('outDir') else []):
                # what this process cannot even look up, the evaluation cannot read either
                if os.path.lexists(path) and mask(path):
                    self.mounted.append(path)
        return outs

    def seal_slot(self, cwd):
        """The slot folder read-only for this evaluation, but for its own job folder: what one evaluation
        wrote beside its folder outlived it, for the next ones of the slot to find (state handed on, or
        a slot filled to the last byte, which failed every later evaluation there)."""
        slot = CONFIG.get('slot', '').rstrip('/')
        if not slot or not cwd.startswith(slot + '/'):
            return
        job = os.path.join(slot, os.path.relpath(cwd, slot).split(os.sep)[0])
        if not os.path.isdir(job):
            return
        job_fd = os.open(job, os.O_PATH | os.O_DIRECTORY)
        try:
            held = os.statvfs(slot).f_flag
            mount(slot, slot, None, MS_BIND)
            self.mounted.append(slot)
            keep = sum(ms for st, ms in MOUNT_FLAGS_OF_STATVFS if held & st)
            mount(None, slot, None, MS_BIND | MS_REMOUNT | MS_RDONLY | keep)
            mount(f'/proc/self/fd/{job_fd}', job, None, MS_BIND | MS_REC)
            self.mounted.append(job)
        finally:
            os.close(job_fd)

    def cleanup(self, outs):
        for fd in outs.values():
            os.close(fd)
        while self.mounted:
            target = self.mounted.pop()
            _check(libc.umount2(target.encode(), MNT_DETACH), f'umount {target}')

    def run(self, req):
        t0 = time.monotonic()
        outs = self.prepare(req)
        try:
            return self.evaluate(req, outs, t0)
        finally:
            self.cleanup(outs)

    def evaluate(self, req, outs, t0):
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        mine.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        err_r, err_w = os.pipe()
        devnull = os.open('/dev/null', os.O_RDONLY)
        env_set = False
        if req.get('python'):
            # the evaluation runs in this interpreter: set here, no page is copied; what putenv refuses
            # fails in the evaluation, as before
            try:
                set_environ(req['env'])
                env_set = True
            except (ValueError, OSError):
                pass
        freeze_before_fork()
        c_pid = os.fork()
        if c_pid == 0:
            try:
                mine.close()
                os.close(err_r)
                stage_c(req, self.wfd, True, [devnull, theirs.fileno(), err_w, outs['result']], env_set)
            except BaseException as e:  # setup failed before the evaluator ran
                try:
                    os.write(2, f'fm_launcher: sandbox setup failed: {e!r}\n'.encode())
                except OSError:
                    pass
            os._exit(126)
        theirs.close()
        os.close(err_w)
        os.close(devnull)
        mine.setblocking(False)
        os.set_blocking(err_r, False)
        relay = Relay(mine, c_pid, outs['stdout'], outs['stdoutOther'])
        err = Tail(err_r, outs['stderr'])
        deadline = t0 + float(req.get('timeout', 30))
        c_status = None
        timed_out = False
        max_rss = 0

        def reaped(block):
            nonlocal c_status, max_rss
            for pid, status, ru in reap_all(block):
                max_rss = max(max_rss, ru.ru_maxrss)
                if pid == c_pid and c_status is None:
                    c_status = status

        while c_status is None:
            reaped(False)
            if c_status is not None:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            try:
                watched = [self.wake[0]] + ([mine] if relay.open else []) + ([err_r] if err.open else [])
                ready, _, _ = select.select(watched, [], [], remaining)
            except InterruptedError:
                continue
            if self.wake[0] in ready:
                try:
                    os.read(self.wake[0], 4096)
                except (BlockingIOError, InterruptedError):
                    pass
            if mine in ready:
                relay.pump()
            if err_r in ready:
                err.pump()
        wall = time.monotonic() - t0
        kill_everything(c_pid)
        reaped(True)
        # what is still in the socket: every writer is dead in a pid namespace (read to the end, bounded in
        # time all the same); without one, take what is there
        if NS:
            mine.settimeout(2.0)
        while relay.open and relay.pump(1 << 20):
            if not NS:
                break
        mine.close()
        while err.open and err.pump(1 << 20) and NS:
            if not select.select([err_r], [], [], 2.0)[0]:
                break
        os.close(err_r)
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        report = {
            'id': req.get('id'),
            'final': True,
            'timedOut': timed_out,
            'wallMs': round(wall * 1000, 3),
            'cpuMs': round((ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime) * 1000, 3),
            'maxRssKb': max_rss,
            'exitCode': None,
            'signal': None,
            'carried': {('stdout' if own else 'stdoutOther'): n for own, n in relay.carried.items()},
        }
        if c_status is not None:
            if os.WIFEXITED(c_status):
                report['exitCode'] = os.WEXITSTATUS(c_status)
            elif os.WIFSIGNALED(c_status):
                report['signal'] = signal.Signals(os.WTERMSIG(c_status)).name
        return report


# --------------------------------------------------------------------------------------- launcher
OUT_KEYS = ('stdout', 'stdoutOther', 'stderr', 'result')
TMP_TARGETS = ('/tmp', '/dev/shm')


def open_outputs(req):
    """The step's output files, opened before their folder is masked."""
    flags = {'result': os.O_RDWR}
    return {k: os.open(req[k], flags.get(k, os.O_WRONLY) | os.O_CREAT | os.O_TRUNC, 0o600) for k in OUT_KEYS}


def started_at(rfd):
    """When the last evaluation's C began (its one report line, read after the evaluation), or None."""
    data = b''
    while True:
        try:
            chunk = os.read(rfd, 65536)
        except (BlockingIOError, InterruptedError):
            break
        if not chunk:
            break
        data += chunk
    for line in reversed(data.splitlines()):
        try:
            return float(json.loads(line)['started'])
        except (ValueError, KeyError, TypeError):
            continue
    return None


def run_step(holder, started_r, req):
    t0 = time.monotonic()
    report = holder.run(req)
    report.pop('final', None)
    started = started_at(started_r)
    report['setupMs'] = round(((started or time.monotonic()) - t0) * 1000, 3)
    return report


def become_holder():
    """This process becomes P (see the module's docstring): in the namespace modes it must be pid 1 of
    its pid namespace (bwrap --as-pid-1, `unshare --pid --fork`), or the SIGKILL that ends each
    evaluation would reach the sandbox's own init and end the slot."""
    if NS:
        if os.getpid() != 1:
            raise OSError(f'the launcher is pid {os.getpid()} of its namespace, not pid 1')
        _check(libc.unshare(CLONE_NEWNS), 'unshare')
        mount(None, '/', None, MS_REC | MS_PRIVATE)
    started_r, started_w = os.pipe()
    os.set_blocking(started_r, False)
    return Holder(started_w), started_r


# The adapters the worker runs for peer-format evaluators, imported once here rather than in every
# evaluation (their imports and argument parsers cost ~12 ms of CPU each time on a small machine). Each
# evaluation still runs in its own fork: what one does to these modules dies with it.
SHIMS = ('fm_openevolve', 'fm_shinka')
PRELOADED = {}


def preload_shims():
    here = os.path.dirname(os.path.abspath(__file__))
    for name in SHIMS:
        try:
            PRELOADED[os.path.join(here, name + '.py')] = importlib.import_module(name)
        except Exception as e:  # the evaluation then runs the file as a script, as before
            print(f'fm_launcher: could not preload {name}: {e!r}', file=sys.stderr)


def main():
    preload_shims()
    setup_launcher()
    try:
        holder, started_r = become_holder()
    except OSError as e:
        print(f'fm_launcher: could not prepare the evaluation namespace: {e!r}', file=sys.stderr)
        sys.exit(1)
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
                resp = {'id': req.get('id'), **run_step(holder, started_r, req)}
            except BaseException as e:
                # mounts may be left half made: the worker sends the next step to a new launcher
                resp = {'id': req.get('id'), 'infra': f'sandbox setup failed: {e!r}', 'restart': True}
        out.write(json.dumps(resp) + '\n')
        out.flush()
        if resp.get('restart'):
            return


if __name__ == '__main__':
    main()
