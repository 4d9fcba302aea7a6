# Shared by .ci/slurm-up.sh and .ci/slurm-down.sh (sourced, not run).

# Stop the daemon whose id a pid file names (never by process name), waiting up to 5 s.
stop_pidfile() {
  local pid
  pid=$(cat "$1" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}
