#!/usr/bin/env bash
# Sample the resident memory of benchmark processes twice a second and print, per process, the
# peak of each kind: VmHWM (what the tables report: anonymous + mapped file pages), RssAnon
# (memory only this process holds: KV, compute buffers, repacked weights) and RssFile (pages of
# the mmapped model file, shared with the page cache and reclaimable).
# Why: with mmap, llama.cpp's CPU "repack" of Q4_K weights copies them into anonymous buffers
# while the file pages they were read from stay mapped, so VmHWM counts those weights twice.
# Usage: scripts/bench-rss-sample.sh [PATTERN] > samples.tsv   (stop with Ctrl-C or kill -TERM; default pattern
# matches the engine_bench workers and llama.cpp's tools)
set -u
PAT="${1:-engine_bench --worker|llama-bench|llama-batched-bench|llama-server}"
declare -A hwm anon file cmd
trap 'for p in "${!hwm[@]}"; do printf "%s\t%s\t%s\t%s\t%s\n" "$p" "${hwm[$p]}" "${anon[$p]}" "${file[$p]}" "${cmd[$p]}"; done; exit 0' INT TERM
echo -e "pid\tVmHWM_kB\tmax_RssAnon_kB\tmax_RssFile_kB\tcommand"
while true; do
    for p in $(pgrep -f "$PAT"); do
        s=$(cat /proc/$p/status 2>/dev/null) || continue
        h=$(awk '/^VmHWM/{print $2}' <<<"$s"); a=$(awk '/^RssAnon/{print $2}' <<<"$s"); f=$(awk '/^RssFile/{print $2}' <<<"$s")
        [ -n "$h" ] || continue
        hwm[$p]=$h
        [ "${a:-0}" -gt "${anon[$p]:-0}" ] && anon[$p]=$a
        [ "${f:-0}" -gt "${file[$p]:-0}" ] && file[$p]=$f
        [ -n "${cmd[$p]:-}" ] || cmd[$p]=$(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null | cut -c1-160)
    done
    sleep 0.5
done
