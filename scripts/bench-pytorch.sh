#!/usr/bin/env bash
# TorchSharp against PyTorch on the same SDPM network, batch, input size and threads (src/Sdpm.Engine/README.md,
# "Against PyTorch"). Runs `sdpm bench --core --json` and scripts/bench_pytorch.py in alternating order for several
# rounds, then prints median train step and inference pass per side and the ratio TorchSharp / PyTorch.
# Usage: scripts/bench-pytorch.sh [--preset small] [--batch 8] [--rounds 3] [--steps 5] [--passes 5] [--threads N]
#          [--isa AVX2|ALL] [--no-foreach]
# PyTorch is Debian's python3-torch; when /usr/bin/python3 cannot import torch, this runs `scripts/setup.sh bench`.
# Both sides get ONEDNN_MAX_CPU_ISA (default AVX2, the engine's own cap) and the same intra-op thread count
# (default: nproc). TorchSharp runs through ./sdpm (tcmalloc preloaded); PyTorch runs twice, as python3 starts (glibc's
# allocator) and with tcmalloc preloaded, both with the engine's own Adam ops; then with torch.optim.Adam(foreach) and
# clip_grad_norm_ (tcmalloc), what a PyTorch user would write.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
preset=small batch=8 rounds=3 steps=5 passes=5 threads="$(nproc)" isa=AVX2 foreach=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --preset) preset="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --passes) passes="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --isa) isa="$2"; shift 2 ;;
    --no-foreach) foreach=""; shift ;;
    *) echo "usage: $0 [--preset P] [--batch N] [--rounds R] [--steps N] [--passes N] [--threads N] [--isa AVX2|ALL] [--no-foreach]" >&2; exit 2 ;;
  esac
done
py=/usr/bin/python3
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "bench-pytorch: PyTorch is not installed for $py; installing Debian's python3-torch (scripts/setup.sh bench)" >&2
  "$root/scripts/setup.sh" bench >&2
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export ONEDNN_MAX_CPU_ISA="$isa" DNNL_MAX_CPU_ISA="$isa"
"$root/sdpm" --help >/dev/null # builds the CLI before anything is timed
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
run_sharp() { "$root/sdpm" bench --core --json --preset "$preset" --batch "$batch" --steps "$steps" --passes "$passes" --threads "$threads" > "$out/sharp-$1.json"; }
run_py() { # $1 round, $2 optimizer, $3 allocator (glibc: as python3 starts; tcmalloc: preloaded as ./sdpm does for TorchSharp)
  local pre=""
  [[ "$3" == tcmalloc ]] && pre="$tcmalloc"
  LD_PRELOAD="$pre" "$py" "$root/scripts/bench_pytorch.py" --json --preset "$preset" --batch "$batch" --steps "$steps" --passes "$passes" --threads "$threads" --optimizer "$2" > "$out/py-$2-$3-$1.json"
}
for r in $(seq 1 "$rounds"); do
  echo "round $r of $rounds" >&2
  if (( r % 2 == 1 )); then run_sharp "$r"; run_py "$r" custom glibc; run_py "$r" custom tcmalloc
  else run_py "$r" custom tcmalloc; run_py "$r" custom glibc; run_sharp "$r"; fi
  [[ -n "$foreach" ]] && run_py "$r" foreach tcmalloc
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
"$py" - "$out" "$rounds" "$load_before" "$load_after" <<'EOF'
import glob, json, os, statistics, subprocess, sys
out, rounds, before, after = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
load = lambda pat: [json.load(open(f)) for f in sorted(glob.glob(os.path.join(out, pat)))]
sharp, pyg, pyt, fe = load("sharp-*.json"), load("py-custom-glibc-*.json"), load("py-custom-tcmalloc-*.json"), load("py-foreach-tcmalloc-*.json")
def med(rs, key):  # median of every timed step/pass of every round; also the spread of the round medians
    allv = [v for r in rs for v in r[key + "_times"]]
    per = [r[key + "_seconds"] for r in rs]
    return statistics.median(allv) * 1000, min(per) * 1000, max(per) * 1000
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
s0, p0 = sharp[0], pyg[0]
print(f"machine: {cpu}, {os.cpu_count()} logical CPUs; load average {before} before, {after} after")
print(f"TorchSharp {s0['torch_sharp_version']} / libtorch 2.10.0 CPU, {s0['threads']} threads, allocator {s0['allocator']}, oneDNN cap {s0['one_dnn_isa']}")
print(f"PyTorch {p0['torch_version']} (Debian python3-torch), {p0['threads']} threads, oneDNN cap {p0['one_dnn_isa']}; allocator per row")
print(f"parameters: TorchSharp {s0['parameters']:,}, PyTorch {p0['parameters']:,} ({'equal' if s0['parameters'] == p0['parameters'] else 'DIFFERENT'})")
print(f"{rounds} alternating rounds; ms = median of all timed steps (range of the round medians)")
print()
print("| preset | batch | measure | PyTorch run as | TorchSharp ms | PyTorch ms | ratio TorchSharp / PyTorch |")
print("|---|---|---|---|---|---|---|")
rows = [("train step", "train_step", "glibc, engine's Adam ops", pyg), ("train step", "train_step", "tcmalloc, engine's Adam ops", pyt)]
if fe:
    rows.append(("train step", "train_step", "tcmalloc, torch.optim.Adam(foreach)", fe))
rows += [("inference pass", "inference_pass", "glibc", pyg), ("inference pass", "inference_pass", "tcmalloc", pyt)]
for name, key, how, other in rows:
    a, b = med(sharp, key), med(other, key)
    print(f"| {s0['preset']} | {s0['batch_size']} | {name} | {how} | {a[0]:.0f} ({a[1]:.0f}-{a[2]:.0f}) | {b[0]:.0f} ({b[1]:.0f}-{b[2]:.0f}) | {a[0] / b[0]:.2f}x |")
EOF
