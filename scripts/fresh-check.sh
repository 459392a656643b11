#!/usr/bin/env bash
# Proves the README's set-up on a truly fresh machine. A CI run on a developer's machine keeps
# whatever was installed by hand; a minimal Debian 12 root cannot:
#   1. debootstrap --variant=minbase bookworm from the Debian mirror this machine's apt uses;
#   2. copy in only what a machine provides: Node (binary, npm, headers), resolv.conf, the apt
#      sources, /root/.npmrc and the CA bundle (this network re-signs TLS), plus the /etc/hosts a
#      Debian installer writes; the project is `git archive HEAD`;
#   3. inside (its own mount namespace, pivot_root into the root: the kernel refuses user
#      namespaces, which the sandbox uses, to a chrooted process; the network and the process
#      table are the host's), the README's commands verbatim:
#        npm ci && npm start    in the background, until /api/health answers, then stopped
#        npx fm-agent run circle-packing-26 --operators local --max-evals 300 --json
#                               must complete and improve on its seed
#        npm test               the whole suite (about 15+ minutes here)
#   4. prints the timings: install, first start, first run, test suite.
# Needs root. Environment: FM_FRESH_DIR (default /var/tmp/fm-fresh-check), FM_FRESH_KEEP=1 keeps
# the root afterwards, FM_FRESH_SKIP_TESTS=1 stops after the first run. Because the network is the
# host's, the root's console, its e2e server and its PostgreSQL listen on ports of their own
# (PORT, FM_E2E_PORT, FM_TEST_PG_URL), which the README's commands honour.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${FM_FRESH_DIR:-/var/tmp/fm-fresh-check}
ROOT=$WORK/root
KEEP=${FM_FRESH_KEEP:-0}
say() { printf '\033[1m[fresh-check]\033[0m %s\n' "$*" >&2; }

[ "$(id -u)" = 0 ] || { echo "fresh-check: needs root (debootstrap, a mount namespace)" >&2; exit 2; }
command -v debootstrap >/dev/null || { say "installing debootstrap"; apt-get install -y -qq debootstrap >/dev/null; }
mirror=$( (grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'; grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}'; true) | grep -v security | grep '/debian/\?$' | head -n 1)
[ -n "$mirror" ] || { echo "fresh-check: no Debian mirror in the apt sources" >&2; exit 2; }

# mounts under the root visible here (none are expected: they live in the root's namespace)
unmount_root() { grep -F " $ROOT" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true; }
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # every process still in the root's mount namespace (by pid: the process table is shared, a kill by name would hit the host's)
  if [ -s "$WORK/mntns" ]; then
    local ns; ns=$(cat "$WORK/mntns")
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && kill -9 "${p#/proc/}" 2>/dev/null || true
    done
  fi
  unmount_root
  if [ "$KEEP" = 1 ]; then say "kept $WORK"; else rm -rf --one-file-system "$WORK"; fi
  exit $rc
}
unmount_root
rm -rf --one-file-system "$WORK"
mkdir -p "$WORK"
trap cleanup EXIT INT TERM

t0=$(date +%s)
say "debootstrap --variant=minbase bookworm from $mirror"
debootstrap --variant=minbase bookworm "$ROOT" "$mirror" > "$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
say "minimal root ready in $(( $(date +%s) - t0 )) s ($(du -sh "$ROOT" | cut -f1))"

# what the machine provides, nothing else
cp /usr/bin/node "$ROOT/usr/bin/node"
mkdir -p "$ROOT/usr/lib/node_modules" "$ROOT/usr/include"
cp -a /usr/lib/node_modules/npm "$ROOT/usr/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/bin/npx"
[ -d /usr/include/node ] && cp -a /usr/include/node "$ROOT/usr/include/node"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$ROOT/etc/hosts"
if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
  cp /etc/apt/sources.list.d/*.sources "$ROOT/etc/apt/sources.list.d/"
  rm -f "$ROOT/etc/apt/sources.list"
fi
[ -f /root/.npmrc ] && cp /root/.npmrc "$ROOT/root/.npmrc"
mkdir -p "$ROOT/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
# no service starts on its own when a package is installed (PostgreSQL's would take the host's port): as in Debian's container images
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
chmod +x "$ROOT/usr/sbin/policy-rc.d"
mkdir -p "$ROOT/app" "$ROOT/fresh"
git -C "$REPO" archive HEAD | tar -x -C "$ROOT/app"
say "project: $(git -C "$REPO" rev-parse --short HEAD) ($(git -C "$REPO" log -1 --format=%s | cut -c1-60))"

cat > "$ROOT/fresh/inside.sh" <<'INSIDE'
#!/bin/bash
# Runs inside the fresh root, in /app: the README's commands verbatim, with timings.
set -uo pipefail
cd /app
say() { printf '\033[1m[fresh-check]\033[0m %s\n' "$*" >&2; }
timing() { echo "$1=$2" >> /fresh/timings; say "$1: $2 s"; }
health() { node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "http://127.0.0.1:$PORT/api/health"; }

say "no Python, no compiler, no bubblewrap here: $(command -v python3 g++ bwrap valgrind | wc -l) of 4 present"
say "npm ci && npm start (in the background, until the console answers)"
start=$(date +%s)
setsid bash -c 'npm ci && npm start' > /fresh/start.log 2>&1 < /dev/null &
server=$!
installed=""
until health; do
  if [ -z "$installed" ] && grep -qE '^(added|up to date)' /fresh/start.log; then
    installed=$(date +%s)
    timing install $(( installed - start ))
  fi
  if ! kill -0 "$server" 2>/dev/null; then
    say "npm ci && npm start ended before the console answered:"; tail -40 /fresh/start.log >&2; exit 1
  fi
  if [ $(( $(date +%s) - start )) -gt 2400 ]; then say "no answer in 40 minutes"; tail -40 /fresh/start.log >&2; exit 1; fi
  sleep 2
done
timing first_start $(( $(date +%s) - ${installed:-$start} ))
grep -E 'prerequisites|apt:|console' /fresh/start.log | sed 's/^/  | /' >&2
say "stopping the console (its process group)"
kill -TERM -- -"$server" 2>/dev/null
for _ in $(seq 60); do kill -0 "$server" 2>/dev/null || break; sleep 1; done
kill -KILL -- -"$server" 2>/dev/null || true
grep -q 'prerequisites: all present' /fresh/start.log || { say "the first start did not end with everything present"; exit 1; }

say "npx fm-agent run circle-packing-26 --operators local --max-evals 300 --json"
start=$(date +%s)
npx fm-agent run circle-packing-26 --operators local --max-evals 300 --json > /fresh/run.json 2> /fresh/run.log
rc=$?
timing first_run $(( $(date +%s) - start ))
tail -1 /fresh/run.json | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    let r; try { r = JSON.parse(s) } catch { console.error("no JSON summary"); process.exit(1) }
    const ok = r.status === "completed" && r.evaluations === 300 && r.best && r.seedScore !== null && r.best.score > r.seedScore
    console.error(`[fresh-check] first run: ${r.status}, ${r.evaluations} evaluations, seed ${r.seedScore} -> best ${r.best && r.best.score}${ok ? "" : " (NOT an improvement on a completed run)"}`)
    process.exit(ok ? 0 : 1)
  })' || { tail -30 /fresh/run.log >&2; exit 1; }
[ "$rc" = 0 ] || { say "fm-agent run exited with $rc"; exit 1; }

[ "${FM_FRESH_SKIP_TESTS:-0}" = 1 ] && exit 0
say "npm test (the whole suite)"
start=$(date +%s)
npm test > /fresh/test.log 2>&1
rc=$?
timing test_suite $(( $(date +%s) - start ))
grep -E '^\s*(Test Files|Tests)\s|passed|failed|flaky|skipped' /fresh/test.log | grep -vE '^\s*✓' | tail -12 | sed 's/^/  | /' >&2
if [ "$rc" != 0 ]; then
  say "npm test failed ($rc); the failures:"
  grep -E 'FAIL|✘|×|Error:' /fresh/test.log | head -60 >&2
  exit 1
fi
INSIDE
chmod +x "$ROOT/fresh/inside.sh"

# the root's own mount namespace: /proc, /sys, /dev and whatever the sandbox mounts stay in it
say "entering the fresh root"
set +e
unshare --mount --fork /bin/bash -euc '
  echo "$(readlink /proc/self/ns/mnt)" > "$1/mntns"
  R=$2
  mount --make-rprivate /
  mount --bind "$R" "$R"
  mount -t proc proc "$R/proc"
  mount --rbind /sys "$R/sys"
  mount --rbind /dev "$R/dev"
  mkdir -p "$R/.oldroot"
  cd "$R"
  pivot_root . .oldroot
  cd /
  umount -l /.oldroot
  rmdir /.oldroot
  exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    NEXT_TELEMETRY_DISABLED=1 PORT=3297 FM_E2E_PORT=3298 FM_TEST_PG_URL=postgres://fm:fm@127.0.0.1:5499/fm_test \
    FM_FRESH_SKIP_TESTS="$3" /fresh/inside.sh
' fresh-root "$WORK" "$ROOT" "${FM_FRESH_SKIP_TESTS:-0}"
rc=$?
set -e
[ -f "$ROOT/fresh/timings" ] && { say "timings (seconds):"; sed 's/^/  /' "$ROOT/fresh/timings" >&2; }
for f in start.log run.log test.log; do [ -f "$ROOT/fresh/$f" ] && cp "$ROOT/fresh/$f" "$WORK/../fm-fresh-check-$f" 2>/dev/null || true; done
say "$([ $rc = 0 ] && echo PASSED || echo "FAILED ($rc)"); logs: $(dirname "$WORK")/fm-fresh-check-{start,run,test}.log"
exit $rc
