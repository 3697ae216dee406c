#!/usr/bin/python3
"""A slow-boot service for npm run bench:snapshots (src/bench/snapshot-bench.ts).

usage: slow-boot.py MIB SECONDS

Builds MIB MiB of in-memory state by real computation, taking about SECONDS: each 1 MiB chunk is
grown from a key stretched with PBKDF2-HMAC-SHA256 (the costly part; the iteration count is
adjusted chunk by chunk so that the build takes about SECONDS), then the chunks are sorted by their
digest. Then it prints `ready`, and a heartbeat every 50 ms. On SIGUSR1 it recomputes the checksum
from the memory it holds and prints it (`verify`): the bench compares that with the `ready` line.

Lines (times are epoch milliseconds, the checksum is sha256 over the sorted chunks, 16 hex digits):
  plan <ms> mib=<MIB> seconds=<SECONDS>
  ready <ms> <checksum> mib=<MIB> build_ms=<B> iterations=<N>
  beat <ms> <n> <checksum>
  verify <ms> <checksum> compute_ms=<C>
"""
import hashlib
import signal
import sys
import time

CHUNK = 1 << 20
SALT = b"ferry-slow-boot"


def now_ms():
    return int(time.time() * 1000)


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def key_of(i, iterations):
    return hashlib.pbkdf2_hmac("sha256", i.to_bytes(8, "little"), SALT, iterations)


def build(mib, seconds):
    """The chunks, sorted; each chunk's key costs what keeps the build on course for `seconds`."""
    deadline = time.perf_counter() + seconds
    per_iteration = 1e-6
    iterations_total = 0
    chunks = []
    for i in range(mib):
        left = max(deadline - time.perf_counter(), 0.0)
        iterations = max(1, int(left / (mib - i) / per_iteration))
        t0 = time.perf_counter()
        chunks.append(hashlib.shake_256(key_of(i, iterations)).digest(CHUNK))
        per_iteration = max((time.perf_counter() - t0) / iterations, 1e-9)
        iterations_total += iterations
    chunks.sort(key=lambda c: hashlib.sha256(c).digest())
    return chunks, iterations_total


def checksum(chunks):
    h = hashlib.sha256()
    for c in chunks:
        h.update(c)
    return h.hexdigest()[:16]


def main():
    mib, seconds = int(sys.argv[1]), float(sys.argv[2])
    say(f"plan {now_ms()} mib={mib} seconds={seconds:g}")
    t0 = time.perf_counter()
    state, iterations = build(mib, seconds)
    ready = checksum(state)
    build_ms = int((time.perf_counter() - t0) * 1000)
    say(f"ready {now_ms()} {ready} mib={mib} build_ms={build_ms} iterations={iterations}")

    asked = []
    signal.signal(signal.SIGUSR1, lambda *_: asked.append(1))
    n = 0
    while True:
        if asked:
            asked.clear()
            c0 = time.perf_counter()
            again = checksum(state)
            say(f"verify {now_ms()} {again} compute_ms={int((time.perf_counter() - c0) * 1000)}")
        n += 1
        say(f"beat {now_ms()} {n} {ready}")
        time.sleep(0.05)


if __name__ == "__main__":
    main()
