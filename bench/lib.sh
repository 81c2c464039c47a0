# What the bench/ scripts share: the queries, the rows, and how they read CPU time. Sourced
# by them, not run.

# The queries, in the order bench/run prints them.
bench_names=(nested flat single pages ordered filtered)
declare -A bench_queries=(
  [nested]='{ users(first: 50) { nodes { id name posts(first: 10) { nodes { id title author { name } } } } } }'
  [flat]='{ posts(first: 100) { nodes { id title } } }'
  [single]='{ user(id: "4242") { id name email posts(first: 10) { nodes { id title } } } }'
  [pages]='{ users(first: 50) { nodes { posts(first: 5) { nodes { id title } } } } }'
  [ordered]='{ posts(first: 20, orderBy: [{ field: CREATED_AT, direction: DESC }]) { nodes { id title } } }'
  [filtered]='{ posts(first: 20, filter: { title: { startsWith: "post 1 by 4" } }) { totalCount nodes { id title } } }'
)

# `single` asks for user 4242: with fewer users, the last one.
bench_fit_queries() {
  if [ "$1" -lt 4242 ]; then
    bench_queries[single]="{ user(id: \"$1\") { id name email posts(first: 10) { nodes { id title } } } }"
  fi
}

# Every post's content: long enough that a page that reads it costs something.
bench_content="Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."

# Refuses unknown query names, so that a typo fails before anything is built or started.
bench_check_names() {
  local name
  for name in "$@"; do
    if [ -z "${bench_queries[$name]:-}" ]; then
      echo "unknown query $name (${bench_names[*]})" >&2
      return 2
    fi
  done
}

# The request body of query NAME: {"query": ...}.
bench_body() {
  python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1]}))' "${bench_queries[$1]}"
}

# A wrk script at PATH that POSTs query NAME.
bench_wrk_script() {
  cat >"$2" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[$(bench_body "$1")]==]
LUA
}

# Installs the Debian packages named when their command is missing (as root), else says so.
bench_need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null && continue
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
    else
      echo "$tool is missing: apt-get install $tool" >&2
      return 1
    fi
  done
}

# Fills the PostgreSQL database at URL, whose tables blogql's migrations made, with USERS users
# of POSTS_EACH posts each: the same rows for the same sizes, every time.
bench_load_postgres() {
  local url=$1 users=$2 posts_each=$3
  psql -q -v ON_ERROR_STOP=1 -o /dev/null "$url" <<SQL
INSERT INTO users (id, name, email, created_at)
  SELECT u, 'User ' || u, 'user' || u || '@example.com', now() FROM generate_series(1, $users) u;
INSERT INTO posts (title, content, author_id, created_at, updated_at)
  SELECT 'Post ' || p || ' by ' || u, '$bench_content', u, now(), now()
  FROM generate_series(1, $users) u, generate_series(1, $posts_each) p ORDER BY u, p;
SELECT setval(pg_get_serial_sequence('users', 'id'), $users);
ANALYZE;
SQL
}

# Waits up to ten seconds for a server's GET /health on PORT.
bench_wait_healthy() {
  local _
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "no server answered on port $1" >&2
  return 1
}

# CPU time (user + system) of process PID so far, in clock ticks.
bench_ticks=$(getconf CLK_TCK)
bench_cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# CPU time of every PostgreSQL process (the server and its backends), in clock ticks.
bench_database_cpu() {
  local total=0 pid
  for pid in $(pgrep -x postgres || true); do
    total=$((total + $(bench_cpu_of "$pid" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
