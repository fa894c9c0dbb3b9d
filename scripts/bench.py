#!/usr/bin/env python3
"""Engine benchmarks: runs the release-built `data_bench` stack binary as a user
would (whole process, local backend) and prints a table of wall time, peak RSS,
bytes written to the backend and final state size. Figures, not assertions."""
import json, os, subprocess, sys, tempfile, time

BIN = sys.argv[1]
QUICK = "--quick" in sys.argv
rows = []

def run(state, env, *args):
    stats = os.path.join(state, "..", "stats.json")
    e = dict(os.environ, MKSO_BACKEND_URL="file://" + state, MKSO_STATS_FILE=stats)
    e.update(env)
    t0 = time.monotonic()
    p = subprocess.run([BIN, *args, "--stack", "bench.data.Dev"], env=e,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit(f"{args} failed ({p.returncode}): {p.stderr.decode()[-2000:]}")
    with open(stats) as f:
        s = json.load(f)
    s["wall"] = wall
    return s

def state_size(state):
    p = os.path.join(state, "stacks", "bench.data.Dev", "snapshot.json")
    return os.path.getsize(p) if os.path.exists(p) else 0

def case(n, shape):
    with tempfile.TemporaryDirectory() as d:
        state = os.path.join(d, "state")
        env = {"MKSO_CONFIG__BENCH__COUNT": str(n), "MKSO_CONFIG__BENCH__SHAPE": shape}
        def row(op, s, extra=""):
            size = state_size(state)
            rows.append((n, shape, op, s["wall"], s["peak_rss_mb"], s["backend_bytes_written"], size, extra))
        s = run(state, env, "up", "--yes"); row("up (from empty)", s,
            f"written/state = {s['backend_bytes_written'] / max(state_size(state), 1):.2f}")
        row("preview (no change)", run(state, env, "preview"))
        row("up (no change)", run(state, env, "up", "--yes"))
        env1 = dict(env, MKSO_CONFIG__BENCH__REVISION="1", MKSO_CONFIG__BENCH__REVISE_EVERY="100")
        row("up (1% changed)", run(state, env1, "up", "--yes"))
        row("destroy", run(state, env1, "destroy", "--yes"))

def latency():
    for flags, label in [(("--parallel", "64"), "up (--parallel 64)"), ((), "up (default: unbounded)")]:
        with tempfile.TemporaryDirectory() as d:
            state = os.path.join(d, "state")
            env = {"MKSO_CONFIG__BENCH__COUNT": "200", "MKSO_CONFIG__BENCH__LATENCY_MS": "1000"}
            s = run(state, env, "up", "--yes", *flags)
            rows.append((200, "independent, 1 s each", label, s["wall"], s["peak_rss_mb"],
                         s["backend_bytes_written"], state_size(state), "critical path 1.0 s"))

def s3_cases():
    """`up` on the S3 backend (moto): bytes and requests sent, vs the state size."""
    import urllib.request, uuid
    endpoint = os.environ.get("MKSO_MOTO_ENDPOINT")
    if not endpoint:
        print("(S3 cases skipped: MKSO_MOTO_ENDPOINT is not set; scripts/bench.sh starts moto)")
        return []
    bucket = "mkso-bench"
    try:
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{bucket}", method="PUT"))
    except Exception:
        pass  # exists already
    out = []
    for n in [1000, 10000] if QUICK else [1000, 10000, 100000]:
        prefix = f"bench-{uuid.uuid4().hex[:8]}"
        with tempfile.TemporaryDirectory() as d:
            stats = os.path.join(d, "stats.json")
            e = dict(os.environ, MKSO_BACKEND_URL=f"s3://{bucket}/{prefix}", MKSO_STATS_FILE=stats,
                     AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing",
                     AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
                     MKSO_CONFIG__BENCH__COUNT=str(n), MKSO_CONFIG__BENCH__SHAPE="independent")
            t0 = time.monotonic()
            p = subprocess.run([BIN, "up", "--yes", "--stack", "bench.data.Dev"], env=e,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
            wall = time.monotonic() - t0
            if p.returncode != 0:
                sys.exit(f"S3 up failed ({p.returncode}): {p.stderr.decode()[-2000:]}")
            with open(stats) as f:
                st = json.load(f)
            key = f"{endpoint}/{bucket}/{prefix}/stacks/bench.data.Dev/snapshot.json"
            # moto checks no signature, but reads need an identity (not anonymous).
            auth = ("AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, "
                    "SignedHeaders=host, Signature=00")
            size = len(urllib.request.urlopen(urllib.request.Request(key, headers={"Authorization": auth})).read())
            out.append((n, wall, st["peak_rss_mb"], st["backend_bytes_written"], st["backend_requests"], size))
    return out

def throttled_cases():
    """1 000 subnet creates (`ec2_bench`) on moto behind the fault proxy's
    EC2-shaped token buckets: wall time vs the buckets' floor, with the default
    (adaptive, unbounded) parallelism and with --parallel 10 and 64."""
    import re, urllib.request
    endpoint = os.environ.get("MKSO_MOTO_ENDPOINT")
    ec2_bin, proxy_bin = os.environ.get("MKSO_EC2_BENCH"), os.environ.get("MKSO_FAULT_PROXY")
    if not (endpoint and ec2_bin and proxy_bin):
        print("(throttled cases skipped: scripts/bench.sh sets MKSO_MOTO_ENDPOINT, MKSO_EC2_BENCH, MKSO_FAULT_PROXY)")
        return []
    # EC2's published shape (mutating: 200 calls, 5 a second); --quick refills 4 times as fast.
    scale = "4" if QUICK else "1"
    out = []
    for flags, label in [((), "default (adaptive)"), (("--parallel", "10"), "--parallel 10"),
                         (("--parallel", "64"), "--parallel 64")]:
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
        proxy = subprocess.Popen([proxy_bin, "--upstream", endpoint, "--api", "ec2", "--throttle",
                                  "--throttle-scale", scale], stdout=subprocess.PIPE, text=True)
        try:
            url = re.search(r"(http://\S+)", proxy.stdout.readline()).group(1)
            with tempfile.TemporaryDirectory() as d:
                e = dict(os.environ, MKSO_BACKEND_URL="file://" + os.path.join(d, "state"),
                         AWS_ENDPOINT_URL=url, MKSO_CONFIG__BENCH__COUNT="1000")
                t0 = time.monotonic()
                p = subprocess.run([ec2_bin, "up", "--yes", "--json", "--stack", "bench.ec2.Dev", *flags],
                                   env=e, capture_output=True, stdin=subprocess.DEVNULL)
                wall = time.monotonic() - t0
            if p.returncode != 0:
                sys.exit(f"ec2_bench up {flags} failed ({p.returncode}): {p.stderr.decode()[-2000:]}")
            events = [json.loads(l) for l in p.stdout.decode().splitlines() if l.startswith("{")]
            summary = [ev for ev in events if ev.get("event") == "summary"][-1]
            stats = json.load(urllib.request.urlopen(f"{url}/__fault-proxy/stats"))
        finally:
            proxy.terminate()
            proxy.wait()
        out.append((label, wall, stats["min_seconds"], summary.get("failed", 0),
                    summary.get("throttled", 0), stats["throttled"], stats["admitted"]))
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    return out

ONLY_THROTTLED = "--throttled-only" in sys.argv
sizes = [1000, 10000] if QUICK else [1000, 10000, 100000]
if not ONLY_THROTTLED:
    for n in sizes:
        case(n, "independent")
    case(1000, "chain")
    if not QUICK:
        case(10000, "chain")
    latency()

if rows:
  print(f"{'N':>7}  {'shape':<22} {'operation':<26} {'wall s':>7} {'peak RSS MB':>11} {'bytes written':>14} {'state bytes':>12}  note")
for n, shape, op, wall, rss, written, size, extra in rows:
  print(f"{n:>7}  {shape:<22} {op:<26} {wall:>7.3f} {rss:>11.1f} {written:>14} {size:>12}  {extra}")

throttled = throttled_cases()
if throttled:
    print()
    print(f"{'1000 subnet creates through EC2-shaped buckets':<48} {'wall s':>7} {'floor s':>7} {'wall/floor':>10} {'failed':>6} {'throttled (mkso)':>16} {'throttled (proxy)':>17}  calls admitted")
    for label, wall, floor, failed, thr, thr_proxy, admitted in throttled:
        ratio = f"{wall / floor:.2f}" if floor > 0 else "-"
        print(f"{label:<48} {wall:>7.1f} {floor:>7.1f} {ratio:>10} {failed:>6} {thr:>16} {thr_proxy:>17}  {admitted}")

s3 = [] if ONLY_THROTTLED else s3_cases()
if s3:
    print()
    print(f"{'N':>7}  {'S3 backend (moto): up from empty':<34} {'wall s':>7} {'peak RSS MB':>11} {'bytes sent':>11} {'requests':>9} {'state bytes':>12}  sent/state")
    for n, wall, rss, sent, reqs, size in s3:
        print(f"{n:>7}  {'':<34} {wall:>7.3f} {rss:>11.1f} {sent:>11} {reqs:>9} {size:>12}  {sent / max(size, 1):.2f}")
