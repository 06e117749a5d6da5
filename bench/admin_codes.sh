#!/usr/bin/env bash
# Measures a page of GET /admin/codes (with its total) at 1,000,000 stored codes, on SQLite
# (issue 8), PostgreSQL or MySQL/MariaDB. Needs curl and the database's client (sqlite3,
# psql, mariadb/mysql); builds the release binary. Prints the median of 7 requests per
# query, timed by curl over loopback (so HTTP, JSON and the pool included).
#   bench/admin_codes.sh                # SQLite: seeds a fresh database in a temp folder
#   WORK=/tmp/x bench/admin_codes.sh    # reuses /tmp/x/app.db when it is already seeded
#   DB=postgres URL=postgres://postgres@127.0.0.1:5432/test bench/admin_codes.sh
#   DB=mysql URL=mysql://root@127.0.0.1:3306/wxa_bench bench/admin_codes.sh
# PostgreSQL: the codes go to schema `wxa_bench` (created); MySQL: to the URL's database
# (created, utf8mb4). Both are kept, and reused when already seeded; drop them after.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-$(mktemp -d)}
DB_KIND=${DB:-sqlite}
PORT=${PORT:-18931}
TOKEN=bench-admin-token-0123456789
cargo build --release --bin wxa
case "$DB_KIND" in
  sqlite)
    DB=$WORK/app.db
    DATABASE_URL="sqlite://$DB?mode=rwc"
    count() { sqlite3 "$DB" 'SELECT COUNT(*) FROM codes'; }
    seed() { sqlite3 "$DB" < bench/seed_codes.sql > /dev/null; }
    ;;
  postgres)
    psql "$URL" -qc 'CREATE SCHEMA IF NOT EXISTS wxa_bench' > /dev/null
    sep='?'; [[ $URL == *\?* ]] && sep='&'
    DATABASE_URL="$URL${sep}options=-c%20search_path%3Dwxa_bench"
    count() { psql "$URL" -qAtc 'SELECT COUNT(*) FROM wxa_bench.codes'; }
    seed() { PGOPTIONS='-c search_path=wxa_bench' psql "$URL" -q -f bench/seed_codes.postgres.sql > /dev/null; }
    ;;
  mysql)
    # mysql://user[:password]@host[:port]/database
    rest=${URL#*://}; auth=${rest%%@*}; rest=${rest#*@}; hostport=${rest%%/*}
    name=${rest#*/}; name=${name%%\?*}; host=${hostport%%:*}; port=3306
    [ "$hostport" != "$host" ] && port=${hostport#*:}
    user=${auth%%:*}; export MYSQL_PWD=""; [ "$auth" != "$user" ] && MYSQL_PWD=${auth#*:}
    client=$(command -v mariadb || command -v mysql)
    my() { "$client" -h "$host" -P "$port" -u "$user" "$@"; }
    my -e "CREATE DATABASE IF NOT EXISTS $name CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    DATABASE_URL=$URL
    count() { my -N -e 'SELECT COUNT(*) FROM codes' "$name"; }
    seed() { my "$name" < bench/seed_codes.mysql.sql; }
    ;;
  *) echo "DB is sqlite, postgres or mysql" >&2; exit 2 ;;
esac
export APP__DATABASE__URL=$DATABASE_URL APP__ADMIN__TOKEN=$TOKEN \
  APP__SERVER__PORT=$PORT APP__SERVER__PUBLIC_URL="http://127.0.0.1:$PORT" \
  APP__STORAGE__DIR="$WORK/image" APP__LOG__LEVEL=warn APP__SERVER__WORKERS=1
./target/release/wxa migrate
if [ "$(count)" -lt 1000000 ]; then
  echo "seeding 1,000,000 codes ($DB_KIND)"
  seed
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
