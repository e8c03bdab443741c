"""Shared by the fidelity checks: PASS/FAIL bookkeeping, the emulator's address, and a guard that
refuses every network connection that does not go to the emulator on loopback (so a library
that quietly tries to reach Google or Microsoft fails loudly instead of leaking or hanging)."""

import json
import os
import sys
import traceback
import urllib.parse
import urllib.request

BASE = os.environ.get("FIDELITY_BASE", "").rstrip("/")  # e.g. http://127.0.0.1:41234
if not BASE:
    sys.exit("FIDELITY_BASE is not set (run emulator/fidelity/run.sh)")

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
blocked = []


def _guard(event, args):
    # socket.getaddrinfo(host, port, …) and socket.connect(sock, address) are audited by CPython.
    if event == "socket.getaddrinfo":
        host = args[0]
        if isinstance(host, bytes):
            host = host.decode(errors="replace")
        if host is not None and str(host) not in _LOOPBACK:
            blocked.append(f"lookup of {host}")
            raise ConnectionRefusedError(f"fidelity guard: no lookups outside loopback ({host})")
    elif event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple) and address and str(address[0]) not in _LOOPBACK:
            blocked.append(f"connect to {address}")
            raise ConnectionRefusedError(f"fidelity guard: no connections outside loopback ({address})")


sys.addaudithook(_guard)

_results = []


def mailbox_subjects(email):
    """Subjects of the events stored in a mailbox, read through the emulator's control API: an
    independent view of where a client's writes landed."""
    url = f"{BASE}/_emulator/mailboxes/{urllib.parse.quote(email)}/events"
    with urllib.request.urlopen(url, timeout=10) as resp:
        events = json.load(resp).get("events", [])
    return [(e.get("fields") or e).get("subject") for e in events]


def check(name, ok, detail=""):
    """Records and prints one check; returns ok so callers can stop early."""
    ok = bool(ok)
    _results.append((name, ok))
    line = f"{'PASS' if ok else 'FAIL'} {name}"
    if detail and not ok:
        line += f" -- {detail}"
    print(line, flush=True)
    return ok


def step(name, fn, *args, **kwargs):
    """Runs fn; an exception is a FAIL of `name` (with the error), and returns None."""
    try:
        return fn(*args, **kwargs)
    except Exception as e:  # report and go on: later checks may still say something useful
        check(name, False, f"{type(e).__name__}: {e}")
        traceback.print_exc(limit=4, file=sys.stdout)
        return None


def finish(library):
    failed = [n for n, ok in _results if not ok]
    if blocked:
        failed.append("network guard")
        print(f"FAIL {library}: blocked non-loopback network use: {sorted(set(blocked))}")
    total = len(_results)
    print(f"== {library}: {total - len([n for n, ok in _results if not ok])}/{total} checks passed"
          + (f"; failed: {', '.join(failed)}" if failed else ""), flush=True)
    sys.exit(1 if failed else 0)
