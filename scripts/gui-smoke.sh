#!/usr/bin/env bash
# The flight map in a real window: starts a node on 127.0.80.1, creates the flight
# keyspace and flies five random flights with the simulator, opens `flight-map
# --no-tiles` under Xvfb, screenshots it to target/gui-smoke.png and checks the picture
# is a drawn map, not a blank or black window: many colours, the drawn ocean over most
# of the screen, land (Natural Earth, gui/data/land-110m.txt), airports, and the status bar's green "connected" dot. Everything it
# starts is stopped on exit. Needs the debug binaries (built if missing) and the Debian
# packages of scripts/setup-gui-test.sh (xvfb, xauth, libgl1-mesa-dri, x11-apps,
# imagemagick). Runs in well under a minute.
set -euo pipefail
# Nodes prove cluster membership to each other with a shared secret (README, Security).
export RUSTICA_CLUSTER_SECRET="${RUSTICA_CLUSTER_SECRET:-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')}"

cd "$(dirname "${BASH_SOURCE[0]}")/.."

ADDRESS=127.0.80.1
SHOT=target/gui-smoke.png
# How long the window gets to connect and draw before the check gives up.
DRAW_LIMIT=20

fail() {
    echo "gui-smoke: FAILED: $*" >&2
    exit 1
}

for tool in xvfb-run xwd convert python3; do
    command -v "$tool" >/dev/null || fail "$tool is missing; run scripts/setup-gui-test.sh"
done
if [[ ! -x target/debug/rustica || ! -x target/debug/flight-sim || ! -x target/debug/flight-map ]]; then
    echo "gui-smoke: building the debug binaries"
    cargo build -p tools -p simulator -p gui
fi

WORK=$(mktemp -d -t gui-smoke.XXXXXX)
DATA_DIR=$(mktemp -d -t gui-smoke-node.XXXXXX)
NODE_PID=""
SIM_PID=""
XVFB_RUN_PID=""

# Stops what this script started, by process id: the window (its pid is written by the
# script run inside xvfb-run), the X server xvfb-run started, the simulator, the node.
cleanup() {
    local status=$?
    trap - EXIT
    if [[ -s "$WORK/flight-map.pid" ]]; then
        kill "$(cat "$WORK/flight-map.pid")" 2>/dev/null || true
    fi
    if [[ -n "$XVFB_RUN_PID" ]]; then
        pkill -TERM -P "$XVFB_RUN_PID" 2>/dev/null || true
        kill "$XVFB_RUN_PID" 2>/dev/null || true
    fi
    [[ -n "$SIM_PID" ]] && kill "$SIM_PID" 2>/dev/null || true
    [[ -n "$NODE_PID" ]] && kill "$NODE_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    if [[ $status -ne 0 ]]; then
        for log in node sim flight-map; do
            if [[ -s "$WORK/$log.log" ]]; then
                echo "---- last lines of $log.log" >&2
                tail -n 15 "$WORK/$log.log" >&2
            fi
        done
    fi
    rm -rf "$WORK" "$DATA_DIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() {
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

if port_open "$ADDRESS" 9042; then
    fail "something already listens on $ADDRESS:9042; stop it first"
fi

echo "gui-smoke: starting a node on $ADDRESS"
target/debug/rustica node --address "$ADDRESS" --data-dir "$DATA_DIR" >"$WORK/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 1 100); do
    port_open "$ADDRESS" 9042 && break
    kill -0 "$NODE_PID" 2>/dev/null || fail "the node exited at start"
    sleep 0.2
done
port_open "$ADDRESS" 9042 || fail "the node does not listen on $ADDRESS:9042 after 20 s"

echo "gui-smoke: flight-sim setup, then 5 random flights in the background"
target/debug/flight-sim --host "$ADDRESS" setup >"$WORK/setup.log" 2>&1 || {
    cat "$WORK/setup.log" >&2
    fail "flight-sim setup failed"
}
target/debug/flight-sim --host "$ADDRESS" run --random 5 --duration 60s --time-scale 600 >"$WORK/sim.log" 2>&1 &
SIM_PID=$!

# Run inside the X server: start the window, then screenshot it once a second until the
# check passes or DRAW_LIMIT runs out. The last screenshot is the one kept.
cat >"$WORK/in-x.sh" <<'INNER'
set -u
target/debug/flight-map --host "$ADDRESS" --no-tiles >"$WORK/flight-map.log" 2>&1 &
echo $! >"$WORK/flight-map.pid"
pid=$!
sleep 3
for _ in $(seq 1 "$DRAW_LIMIT"); do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "flight-map exited" >"$WORK/verdict"
        exit 1
    fi
    if xwd -root -silent >"$WORK/shot.xwd" && convert "xwd:$WORK/shot.xwd" -depth 8 "ppm:$WORK/shot.ppm" \
        && python3 "$WORK/check.py" "$WORK/shot.ppm" >"$WORK/verdict" 2>&1; then
        convert "ppm:$WORK/shot.ppm" "$SHOT"
        exit 0
    fi
    sleep 1
done
[[ -f "$WORK/shot.ppm" ]] && convert "ppm:$WORK/shot.ppm" "$SHOT"
exit 1
INNER

# The picture's verdict: prints what it measured; exit status 0 when it is a drawn map.
cat >"$WORK/check.py" <<'CHECK'
import sys

OCEAN = (28, 52, 82)         # map.rs: the drawn world
LAND = (58, 74, 62)          # map.rs: Natural Earth's land (land.rs)
AIRPORT = (240, 200, 90)     # map.rs: a labelled airport
CONNECTED = (0, 255, 0)      # panels.rs: the status bar's dot when connected
PLANE = (255, 220, 40)       # map.rs: a plane (reported, not required: they may be off screen)

with open(sys.argv[1], "rb") as f:
    data = f.read()
# Binary PPM: "P6", width, height, maxval (with "#" comments between), one whitespace
# byte, then RGB triples.
fields, pos = [], 0
while len(fields) < 4:
    while data[pos:pos + 1].isspace() or data[pos:pos + 1] == b"#":
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
        pos += 1
    start = pos
    while not data[pos:pos + 1].isspace():
        pos += 1
    fields.append(data[start:pos])
pixels = data[pos + 1:]
width, height = int(fields[1]), int(fields[2])
assert fields[0] == b"P6" and int(fields[3]) == 255, fields
triples = [pixels[i:i + 3] for i in range(0, width * height * 3, 3)]

counts = {}
for t in triples:
    counts[t] = counts.get(t, 0) + 1

def near(color, tolerance=3):
    return sum(n for t, n in counts.items() if all(abs(t[i] - color[i]) <= tolerance for i in range(3)))

total = width * height
found = {
    "colours": len(counts),
    "ocean": near(OCEAN),
    "land": near(LAND),
    "airport": near(AIRPORT),
    "connected": near(CONNECTED),
    "plane": near(PLANE),
}
print(f"{width}x{height}: " + ", ".join(f"{k} {v}" for k, v in found.items()))
problems = []
if found["colours"] < 64:
    problems.append(f"only {found['colours']} colours: blank or not drawn")
if found["ocean"] < total // 5:
    problems.append("the ocean covers less than a fifth of the screen")
if found["land"] < total // 20:
    problems.append("the land covers less than a twentieth of the screen")
if found["airport"] < 50:
    problems.append("no airports drawn")
if found["connected"] < 20:
    problems.append("the status bar does not show a connected cluster")
for p in problems:
    print("  " + p)
sys.exit(1 if problems else 0)
CHECK

echo "gui-smoke: opening flight-map under Xvfb"
rm -f "$SHOT"
export ADDRESS WORK SHOT DRAW_LIMIT
xvfb_status=0
xvfb-run -a -s "-screen 0 1280x800x24" bash "$WORK/in-x.sh" &
XVFB_RUN_PID=$!
wait "$XVFB_RUN_PID" || xvfb_status=$?
XVFB_RUN_PID=""

verdict=$(cat "$WORK/verdict" 2>/dev/null || echo "no screenshot was taken")
if [[ $xvfb_status -ne 0 ]]; then
    fail "the window is not a drawn map (screenshot: $SHOT): $verdict"
fi
echo "gui-smoke: $verdict"
echo "gui-smoke: ok, screenshot in $SHOT"
