#!/usr/bin/env bash
# /image/ throughput from each image store, in one session: the simulator, an S3-compatible
# server (s3s-fs) and two products (storage.backend fs and s3, release build) on loopback;
# the same code is made on both and wrk fetches its image from each.
#   bench/image_store.sh        # DURATION=5s CONNECTIONS=64 by default
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
CONNS=${CONNECTIONS:-64}
APPID=wx1111111111111111

command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install -y wrk)" >&2; exit 1; }
command -v s3s-fs >/dev/null || { echo "bench: s3s-fs is missing (cargo install s3s-fs@0.14.1 --features binary --locked)" >&2; exit 1; }
cargo build --release --quiet --bin wxa
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/wxa
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 500); do curl -sf "$1" >/dev/null && return 0; sleep 0.01; done; echo "bench: $1 never answered" >&2; return 1; }

export APP__LOG__LEVEL=warn
export APP__WECHAT__MINI_PROGRAM__DEFAULT__APP_ID=$APPID
export APP__WECHAT__MINI_PROGRAM__DEFAULT__SECRET=bench-secret

SIM_PORT=$(free_port)
(cd "$work" && exec "$BIN" sim --port "$SIM_PORT" >/dev/null 2>&1) & pids+=($!)
wait_for "http://127.0.0.1:$SIM_PORT/__sim/" || exit 1

S3_PORT=$(free_port)
mkdir -p "$work/s3/codes"
s3s-fs --host 127.0.0.1 --port "$S3_PORT" --access-key bench --secret-key bench-secret-key \
  "$work/s3" >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 1 500); do (exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null && break; sleep 0.01; done

# start_product NAME [ENV...]: a product with its own database and folder at $PRODUCT.
start_product() {
  local dir=$work/$1 port; shift; mkdir -p "$dir"; port=$(free_port)
  (cd "$dir" && exec env "$@" APP__SERVER__PORT="$port" APP__SERVER__PUBLIC_URL="http://127.0.0.1:$port" \
     APP__WECHAT__BASE_URL="http://127.0.0.1:$SIM_PORT" "$BIN" serve >"$dir/log" 2>&1) & pids+=($!)
  PRODUCT=http://127.0.0.1:$port
  wait_for "$PRODUCT/healthz" || { cat "$dir/log" >&2; exit 1; }
}
start_product fs; FS=$PRODUCT
start_product s3 APP__STORAGE__BACKEND=s3 APP__STORAGE__BUCKET=codes \
  APP__STORAGE__ENDPOINT="http://127.0.0.1:$S3_PORT" APP__STORAGE__ACCESS_KEY_ID=bench \
  APP__STORAGE__SECRET_ACCESS_KEY=bench-secret-key
S3=$PRODUCT

image_of() { curl -sf "$1/api/qr_code?scene=bench" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["url"].split("/image/")[1])'; }
FILE_FS=$(image_of "$FS"); FILE_S3=$(image_of "$S3")
[ "$FILE_FS" = "$FILE_S3" ] || { echo "bench: the two stores named the code differently" >&2; exit 1; }
curl -sf "$FS/image/$FILE_FS" -o "$work/fs.jpg"; curl -sf "$S3/image/$FILE_S3" -o "$work/s3.jpg"
cmp -s "$work/fs.jpg" "$work/s3.jpg" || { echo "bench: the two stores serve different bytes" >&2; exit 1; }
SIZE=$(stat -c %s "$work/fs.jpg")

row() {
  local out; out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$2/image/$FILE_FS")
  python3 - "$1" "$out" <<'PY'
import re, sys
name, text = sys.argv[1], sys.argv[2]
def ms(label):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\b" % label, text, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
print(f"| /image/ from {name} | {rps:.0f} req/s | p50 {ms('50%'):.2f} ms | p99 {ms('99%'):.2f} ms | non-2xx {bad.group(1) if bad else 0} |")
PY
}
echo "/image/<one $SIZE-byte code>, wrk -t2 -c$CONNS -d$DURATION, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo "| store | throughput | p50 | p99 | errors |"
echo "|---|---|---|---|---|"
row fs "$FS"
row s3 "$S3"
# The first read of an image on an s3 instance goes to the bucket (later ones are served
# from memory): its latency, over 20 codes read once each.
python3 - "$S3" <<'PY'
import json, sys, time, urllib.request
base = sys.argv[1]
took = []
for i in range(20):
    url = json.load(urllib.request.urlopen(f"{base}/api/qr_code?scene=first{i}"))["data"]["url"]
    started = time.perf_counter()
    urllib.request.urlopen(f"{base}/image/" + url.split("/image/")[1]).read()
    took.append((time.perf_counter() - started) * 1000)
took.sort()
print(f"| first read from the bucket (20 codes) | | p50 {took[10]:.2f} ms | max {took[-1]:.2f} ms | |")
PY

