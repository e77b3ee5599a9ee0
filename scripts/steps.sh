# Shared by the GPU scripts: run named steps under one time budget, log everything, and
# summarise. Source it after setting LOG (the log file) and BUDGET (seconds); then call
#   step NAME SECONDS COMMAND...   and, at the end,   summary   (exits non-zero on failure)
# A step that would start with under 10 s of the budget left is skipped and says so; a
# failing step does not stop the others.

START=$(date +%s)
declare -a SUMMARY=()
FAILED=0

log() { echo "$*" | tee -a "$LOG"; }

# step NAME SECONDS COMMAND...: run with a time limit, output to the terminal and the log
step() {
    local name=$1 limit=$2
    shift 2
    local now elapsed left status t0 dt
    now=$(date +%s)
    elapsed=$((now - START))
    left=$((BUDGET - elapsed))
    if ((left < 10)); then
        log ""
        log "=== [$name] SKIPPED: the ${BUDGET}s budget is spent (${elapsed}s elapsed)"
        SUMMARY+=("SKIPPED  $name (budget spent)")
        FAILED=1
        return
    fi
    ((limit > left)) && limit=$left
    log ""
    log "=== [$name] (limit ${limit}s, ${elapsed}s elapsed) \$ $*"
    t0=$(date +%s)
    timeout --signal=TERM --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$LOG"
    status=${PIPESTATUS[0]}
    dt=$(($(date +%s) - t0))
    if ((status == 0)); then
        SUMMARY+=("OK       $name (${dt}s)")
    elif ((status == 124 || status == 137)); then
        SUMMARY+=("TIMEOUT  $name (after ${dt}s, limit ${limit}s)")
        FAILED=1
    else
        SUMMARY+=("FAILED   $name (exit $status, ${dt}s)")
        FAILED=1
    fi
    log "=== [$name] exit $status after ${dt}s"
}

# summary: every step's outcome, then exit with 1 if any failed, timed out or was skipped
summary() {
    log ""
    log "=== summary ($(($(date +%s) - START))s in all; log $LOG)"
    for line in "${SUMMARY[@]}"; do
        log "  $line"
    done
    exit $FAILED
}
