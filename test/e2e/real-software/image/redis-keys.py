"""Writes N redis SET commands in redis' own protocol, for `redis-cli --pipe`."""

import sys

out = sys.stdout.buffer
n = int(sys.argv[1])
for i in range(n):
    k = b"key:%d" % i
    v = b"value:%d" % (i * 7919 % 1000003)
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
