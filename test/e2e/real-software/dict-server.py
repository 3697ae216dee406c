"""The python3 workload of the real-software end-to-end suite.

It builds a dict of N entries, prints its checksum (`ready`), then a `tick <ms> <n>` line every
PERIOD ms (the test reads the largest gap as the downtime the program saw). On SIGUSR1 it
recomputes the checksum from the dict in its memory and prints a `checksum` line: after a
migration it must equal the one it printed at the start.
"""

import hashlib
import signal
import sys
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
PERIOD = (int(sys.argv[2]) if len(sys.argv) > 2 else 10) / 1000

table = {i: "value-%d" % (i * 7919 % 1_000_003) for i in range(N)}


def checksum():
    h = hashlib.sha256()
    for k, v in table.items():
        h.update(b"%d=%s;" % (k, v.encode()))
    return h.hexdigest()


wanted = False


def on_usr1(_signum, _frame):
    global wanted
    wanted = True


signal.signal(signal.SIGUSR1, on_usr1)
print("ready entries=%d checksum=%s" % (len(table), checksum()), flush=True)
n = 0
while True:
    if wanted:
        wanted = False
        print("checksum entries=%d checksum=%s" % (len(table), checksum()), flush=True)
    n += 1
    print("tick %d %d" % (time.time() * 1000, n), flush=True)
    time.sleep(PERIOD)
