/*
 * ferry-stateful: a test and demo workload whose state must survive migration.
 *
 * It fills MiB of memory with pseudo-random bytes from a seed taken at start-up, then every
 * INTERVAL ms prints one line:  "<unix-ms> <counter> <checksum>"  and flushes.
 * A restart would print counter 1 and (almost surely) another checksum, so a migration that
 * preserved state shows the counter continuing and the checksum unchanged. The largest gap
 * between consecutive timestamps is the downtime seen from inside the workload.
 * With DIRTY-PERCENT > 0 it rewrites that share of its memory every tick (for pre-copy
 * benchmarks) and keeps the checksum of the buffer up to date.
 *
 * On SIGUSR1 it recomputes the checksum from every word of its memory and prints
 * "verify <recomputed> <running>": equal values prove that all of the memory arrived intact
 * (post-copy fetches pages on demand: a lost or wrong page shows here).
 *
 * usage: ferry-stateful [MiB] [INTERVAL-ms] [DIRTY-PERCENT]
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;
static uint64_t next_rand(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ULL;
}

/* Position-dependent additive checksum: rewriting one word updates it in O(1). */
static uint64_t mix(size_t i, uint64_t w) { return (w ^ (i * 0x9E3779B97F4A7C15ULL)) * 0xBF58476D1CE4E5B9ULL; }
static uint64_t checksum(const uint64_t *words, size_t n) {
  uint64_t h = 0;
  for (size_t i = 0; i < n; i++) h += mix(i, words[i]);
  return h;
}

static long long now_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static volatile sig_atomic_t verify_requested;
static void on_usr1(int sig) { (void)sig; verify_requested = 1; }

int main(int argc, char **argv) {
  long mib = argc > 1 ? atol(argv[1]) : 16;
  long interval = argc > 2 ? atol(argv[2]) : 10;
  long dirty = argc > 3 ? atol(argv[3]) : 0;
  if (mib < 0 || interval < 1 || dirty < 0 || dirty > 100) {
    fprintf(stderr, "usage: ferry-stateful [MiB] [INTERVAL-ms] [DIRTY-PERCENT]\n");
    return 2;
  }
  size_t n = (size_t)mib * 1024 * 1024 / sizeof(uint64_t);
  if (n == 0) n = 1;
  uint64_t *mem = malloc(n * sizeof(uint64_t));
  if (!mem) { perror("malloc"); return 1; }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  rng_state = (((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16)) | 1;
  for (size_t i = 0; i < n; i++) mem[i] = next_rand();
  uint64_t sum = checksum(mem, n);
  size_t pages = (n + 511) / 512, dirty_pages = pages * (size_t)dirty / 100, cursor = 0;
  struct timespec pause = {interval / 1000, (interval % 1000) * 1000000L};

  signal(SIGUSR1, on_usr1);
  for (unsigned long long counter = 1;; counter++) {
    if (verify_requested) {
      verify_requested = 0;
      printf("verify %016llx %016llx\n", (unsigned long long)checksum(mem, n), (unsigned long long)sum);
    }
    printf("%lld %llu %016llx\n", now_ms(), counter, (unsigned long long)sum);
    fflush(stdout);
    for (size_t k = 0; k < dirty_pages; k++) { /* one word in each of dirty_pages pages */
      uint64_t w = next_rand();
      sum += mix(cursor, w) - mix(cursor, mem[cursor]);
      mem[cursor] = w;
      cursor = (cursor + 512) % n;
    }
    nanosleep(&pause, NULL);
  }
}
