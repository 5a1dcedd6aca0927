#!/usr/bin/env bash
# Cross-check `hotline usersig` against Tencent's reference implementation,
# PyPI `tls-sig-api-v2` (module TLSSigAPIv2), in both directions:
#   - UserSigs from `hotline usersig gen` are checked with the reference
#     library: its HMAC must match TLS.sig, and its own output for the same
#     inputs and TLS.time must decode to the very same JSON;
#   - UserSigs from the reference library must pass `hotline usersig verify`
#     with the expected claims.
# A wrong key must fail on both sides. Exits non-zero on any mismatch.
#
# The reference library has no verify function (only gen_sig and
# gen_sig_with_userbuf), so the Python side decodes with the library's
# base64_decode_url and recomputes TLS.sig with its own HMAC routine.
#
# Needs python3 (with venv) and network access to PyPI. Set HOTLINE_BIN to
# test an already built binary instead of running `cargo build`.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'MISMATCH: %s\n' "$*" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hotline-usersig-crosscheck.XXXXXX")
trap 'rm -rf "$work"' EXIT

say "creating a venv in $work and installing tls-sig-api-v2 from PyPI"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check tls-sig-api-v2
py="$work/venv/bin/python"

if [ -z "${HOTLINE_BIN:-}" ]; then
  say "building the hotline command"
  cargo build -q -p hotline-cli
  HOTLINE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/hotline"
fi
bin=$HOTLINE_BIN

# The reference side. Secrets come from the environment, never from argv.
cat >"$work/ref.py" <<'PY'
"""gen ID EXPIRE [USERBUF] | check ID EXPIRE USERBUF|- SIG   (key and app id from the environment)"""
import base64, hmac, json, os, sys, time, zlib
import TLSSigAPIv2 as ref

appid, key = int(os.environ["HOTLINE_SDK_APP_ID"]), os.environ["HOTLINE_SECRET_KEY"]
api = ref.TLSSigAPIv2(appid, key)

def gen(ident, expire, userbuf=None):
    if userbuf is None:
        return api.gen_sig(ident, int(expire))
    return api.gen_sig_with_userbuf(ident, int(expire), userbuf.encode())

def check(ident, expire, userbuf, sig):
    userbuf = None if userbuf == "-" else userbuf
    m = json.loads(zlib.decompress(ref.base64_decode_url(sig.encode())))
    want = {"TLS.ver": "2.0", "TLS.identifier": ident, "TLS.sdkappid": appid, "TLS.expire": int(expire)}
    if userbuf is not None:
        want["TLS.userbuf"] = base64.b64encode(userbuf.encode()).decode()
    for k, v in want.items():
        if m.get(k) != v:
            sys.exit(f"{k} is {m.get(k)!r}, expected {v!r}")
    if not abs(m["TLS.time"] - time.time()) < 300:
        sys.exit(f"TLS.time {m['TLS.time']} is not close to now")
    sig_ref = api._TLSSigAPIv2__hmacsha256(ident, m["TLS.time"], m["TLS.expire"], m.get("TLS.userbuf")).decode()
    if not hmac.compare_digest(sig_ref, m["TLS.sig"]):
        sys.exit("TLS.sig does not match the reference HMAC")
    # The reference library, with its clock pinned to our TLS.time, writes the same JSON.
    t = m["TLS.time"]
    ref.time.time = lambda: float(t)
    again = json.loads(zlib.decompress(ref.base64_decode_url(gen(ident, expire, userbuf).encode())))
    if again != m:
        sys.exit(f"the reference library writes {again}, hotline wrote {m}")

cmd, *args = sys.argv[1:]
if cmd == "gen":
    print(gen(*args))
else:
    check(*args)
PY

export HOTLINE_SDK_APP_ID=1400000000
HOTLINE_SECRET_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
export HOTLINE_SECRET_KEY

# user ID, lifetime in seconds, userbuf ("-" for none)
cases=(
  "xiaojun 15552000 -"
  "alice 86400 -"
  "Bob_9-x 60 -"
  "carol 3600 room=42;role=host"
)
checks=0
for case in "${cases[@]}"; do
  read -r id expire userbuf <<<"$case"
  gen_args=(--user-id "$id" --expire "$expire")
  [ "$userbuf" != "-" ] && gen_args+=(--userbuf "$userbuf")

  say "hotline gen -> reference check: id=$id expire=$expire userbuf=$userbuf"
  sig=$("$bin" usersig gen "${gen_args[@]}")
  "$py" "$work/ref.py" check "$id" "$expire" "$userbuf" "$sig" || die "the reference library rejects hotline's UserSig for $id"
  checks=$((checks + 1))

  say "reference gen -> hotline verify: id=$id expire=$expire userbuf=$userbuf"
  if [ "$userbuf" = "-" ]; then sig=$("$py" "$work/ref.py" gen "$id" "$expire"); else sig=$("$py" "$work/ref.py" gen "$id" "$expire" "$userbuf"); fi
  claims=$("$bin" usersig verify --user-sig "$sig" --user-id "$id") || die "hotline rejects the reference UserSig for $id"
  want="{\"identifier\":\"$id\",\"sdkappid\":$HOTLINE_SDK_APP_ID,"
  want_tail="\"expire\":$expire"
  [ "$userbuf" != "-" ] && want_tail+=",\"userbuf\":\"$(printf %s "$userbuf" | base64 -w0)\""
  case "$claims" in
    "$want\"time\":"*",$want_tail}") ;;
    *) die "hotline printed $claims" ;;
  esac
  checks=$((checks + 1))
done

say "a wrong key fails on both sides"
sig=$("$py" "$work/ref.py" gen alice 600)
if HOTLINE_SECRET_KEY="${HOTLINE_SECRET_KEY}x" "$bin" usersig verify --user-sig "$sig" 2>"$work/err"; then
  die "hotline accepted a UserSig under the wrong key"
fi
grep -q "signature does not match" "$work/err" || die "unexpected error: $(cat "$work/err")"
sig=$("$bin" usersig gen --user-id alice --expire 600)
if HOTLINE_SECRET_KEY="${HOTLINE_SECRET_KEY}x" "$py" "$work/ref.py" check alice 600 - "$sig" 2>/dev/null; then
  die "the reference check accepted hotline's UserSig under the wrong key"
fi
checks=$((checks + 2))

say "all $checks checks passed"
