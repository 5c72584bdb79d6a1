# Headless-browser helpers for the shell tests; source after tap.sh.
#   browser_find                  sets BROWSER (chromium, chromium-browser,
#                                 google-chrome); 1 when there is none
#   browser_shot URL OUT.png      a 1280x1600 screenshot
#   browser_dom URL               prints the DOM after the load
#   browser_console_errors URL    prints one line per console error,
#                                 uncaught exception or failed load of the
#                                 page (nothing for a clean page); 2 when
#                                 the browser itself could not run
# Each call starts a fresh browser with its own profile under $T_TMP and
# gives up after BROWSER_TIMEOUT seconds (60).
browser_find() {
	BROWSER=""
	for _b in chromium chromium-browser google-chrome google-chrome-stable; do
		if command -v "$_b" >/dev/null 2>&1; then
			BROWSER=$(command -v "$_b")
			break
		fi
	done
	[ -n "$BROWSER" ]
}

# The flags of every run: no sandbox (tests may run as root), no GPU, no
# first-run chatter, and a profile that dies with the test.
_browser_run() {
	_profile=$(mktemp -d "$T_TMP/chromium.XXXXXX")
	timeout "${BROWSER_TIMEOUT:-60}" "$BROWSER" --headless=new --no-sandbox --disable-gpu \
		--disable-dev-shm-usage --no-first-run --no-default-browser-check --disable-extensions \
		--disable-background-networking --hide-scrollbars --user-data-dir="$_profile" "$@"
}

browser_shot() {
	rm -f "$2"
	_browser_run --screenshot="$2" --window-size=1280,1600 "$1" >"$T_TMP/browser_shot.log" 2>&1
	if [ ! -s "$2" ]; then
		cat "$T_TMP/browser_shot.log" >&2
		return 1
	fi
}

browser_dom() {
	_browser_run --dump-dom "$1" 2>"$T_TMP/browser_dom.log"
}

# Chromium's own log (--enable-logging=stderr) prints console messages
# without their level and misses failed loads, so the page is watched
# through the DevTools protocol instead, over --remote-debugging-pipe
# (fd 3 to the browser, fd 4 from it; no port, no extra module). Without
# python3, the log's CONSOLE lines stand in: any console output at all.
browser_console_errors() {
	if ! command -v python3 >/dev/null 2>&1; then
		_browser_run --enable-logging=stderr --v=0 --dump-dom "$1" \
			>/dev/null 2>"$T_TMP/browser_console.log" || return 2
		grep 'CONSOLE' "$T_TMP/browser_console.log" | sed 's/^[^]]*] //'
		return 0
	fi
	_profile=$(mktemp -d "$T_TMP/chromium.XXXXXX")
	BROWSER=$BROWSER BROWSER_URL=$1 BROWSER_PROFILE=$_profile timeout "${BROWSER_TIMEOUT:-60}" python3 -c "$_browser_cdp"
}

_browser_cdp='
import json, os, subprocess, sys, time

url, browser = os.environ["BROWSER_URL"], os.environ["BROWSER"]
to_r, to_w = os.pipe()      # we write commands, the browser reads fd 3
from_r, from_w = os.pipe()  # the browser writes events to fd 4
def fds():
    # dup2 onto the same number would keep the close-on-exec flag
    os.dup2(to_r, 3)
    os.dup2(from_w, 4)
    os.set_inheritable(3, True)
    os.set_inheritable(4, True)
proc = subprocess.Popen([browser, "--headless=new", "--no-sandbox", "--disable-gpu",
    "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
    "--disable-extensions", "--disable-background-networking",
    "--user-data-dir=" + os.environ["BROWSER_PROFILE"], "--remote-debugging-pipe",
    "about:blank"], close_fds=False, preexec_fn=fds,
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(to_r)
os.close(from_w)
out, buf, next_id = os.fdopen(to_w, "wb", 0), b"", 0
errors = []

def send(method, params=None, session=None):
    global next_id
    next_id += 1
    msg = {"id": next_id, "method": method, "params": params or {}}
    if session:
        msg["sessionId"] = session
    out.write(json.dumps(msg).encode() + b"\0")
    return next_id

def messages():
    global buf
    while True:
        while b"\0" in buf:
            raw, buf = buf.split(b"\0", 1)
            yield json.loads(raw)
        chunk = os.read(from_r, 65536)
        if not chunk:
            return
        buf += chunk

def wait_for(pred):
    for m in msgs:
        note(m)
        if pred(m):
            return m
    sys.stderr.write("browser: the browser went away\n")
    sys.exit(2)

def note(m):
    p = m.get("params", {})
    meth = m.get("method")
    if meth == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
        args = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
        errors.append("console.%s: %s" % (p["type"], args))
    elif meth == "Runtime.exceptionThrown":
        d = p.get("exceptionDetails", {})
        errors.append("uncaught: %s" % d.get("exception", {}).get("description", d.get("text", "")))
    elif meth == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
        e = p["entry"]
        errors.append("%s error: %s %s" % (e.get("source", "log"), e.get("text", ""), e.get("url", "")))

msgs = messages()
i = send("Target.createTarget", {"url": "about:blank"})
target = wait_for(lambda m: m.get("id") == i)["result"]["targetId"]
i = send("Target.attachToTarget", {"targetId": target, "flatten": True})
session = wait_for(lambda m: m.get("id") == i)["result"]["sessionId"]
for method in ("Runtime.enable", "Log.enable", "Page.enable"):
    i = send(method, session=session)
    wait_for(lambda m: m.get("id") == i)
i = send("Page.navigate", {"url": url}, session)
nav = wait_for(lambda m: m.get("id") == i)
if nav.get("result", {}).get("errorText"):
    errors.append("load failed: " + nav["result"]["errorText"])
else:
    wait_for(lambda m: m.get("method") == "Page.loadEventFired")
    # late messages (timers, lazy loads): what arrives within 500 ms
    i = send("Runtime.evaluate", {"expression": "new Promise(r => setTimeout(r, 500))",
                                  "awaitPromise": True}, session)
    wait_for(lambda m: m.get("id") == i)
send("Browser.close")
try:
    proc.wait(timeout=10)
except subprocess.TimeoutExpired:
    proc.kill()
for e in errors:
    print(" ".join(e.split()))  # one line each: stacks span several
'
