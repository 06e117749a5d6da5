#!/usr/bin/env bash
# Measures a page of GET /admin/codes (with its total) at 1,000,000 stored codes on SQLite
# (issue 8). Needs sqlite3 and curl; builds the release binary. Prints the median of 7
# requests per query, timed by curl over loopback (so HTTP, JSON and the pool included).
#   bench/admin_codes.sh            # seeds a fresh database in a temp folder
#   WORK=/tmp/x bench/admin_codes.sh  # reuses /tmp/x/app.db when it is already seeded
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-$(mktemp -d)}
DB=$WORK/app.db
PORT=${PORT:-18931}
TOKEN=bench-admin-token-0123456789
cargo build --release --bin wxa
export APP__DATABASE__URL="sqlite://$DB?mode=rwc" APP__ADMIN__TOKEN=$TOKEN \
  APP__SERVER__PORT=$PORT APP__SERVER__PUBLIC_URL="http://127.0.0.1:$PORT" \
  APP__STORAGE__DIR="$WORK/image" APP__LOG__LEVEL=warn APP__SERVER__WORKERS=1
./target/release/wxa migrate
if [ "$(sqlite3 "$DB" 'SELECT COUNT(*) FROM codes')" -lt 1000000 ]; then
  echo "seeding 1,000,000 codes into $DB"
  sqlite3 "$DB" < bench/seed_codes.sql > /dev/null
fi
./target/release/wxa serve --sandbox > "$WORK/serve.log" 2>&1 &
PID=$!
trap 'kill $PID' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null && break
  sleep 0.1
done

# The first request for a filter counts its total; later pages of the same filter reuse
# that count while no code was added. Prints the first request's time and the median of 7
# more, in ms.
measure() {
  local url="http://127.0.0.1:$PORT/admin/codes?$1" first median total
  first=$(curl -s -o "$WORK/body.json" -w '%{time_total}' -H "Authorization: Bearer $TOKEN" "$url")
  total=$(sed -n 's/.*"total":\([0-9]*\).*/\1/p' "$WORK/body.json")
  median=$(for _ in 1 2 3 4 5 6 7; do
    curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" "$url"
  done | sort -n | sed -n 4p)
  printf '%-60s total=%-7s first=%6.1f ms  median=%6.1f ms\n' "$1" "$total" \
    "$(echo "$first * 1000" | bc -l)" "$(echo "$median * 1000" | bc -l)"
}

A=wx1111111111111111
# "first" pays the count of its filter, unless a row above used the same filter.
measure "page=1"
measure "page=50000"
measure "app_id=$A&page=1"
measure "app_id=$A&page=40000"
measure "app_id=$A&kind=unlimited&page=18500"
measure "kind=unlimited&page=45000"
measure "kind=qrcode&page=1500"
measure "scene=id%3D777777"
measure "created_from=1710000000&created_to=1720000000&page=16000"
measure "created_from=1710000000&created_to=1720000000&page=1"
measure "page_prefix=pages/p7/&page=1"
measure "page_prefix=pages/p7/&page=2500"
measure "page_prefix=pages/p1&page=1"
