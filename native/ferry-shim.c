/*
 * ferry-shim: starts a command whose stdout and stderr are an anonymous pipe, and a detached
 * pump process that appends everything read from that pipe to a log file until every writer
 * of the pipe is gone.
 *
 * Why: runc and CRIU can only hand a workload's stdio over to a new host when it is a pipe
 * (runc restore and `criu restore --inherit-fd` attach a new pipe in place of the old one);
 * a regular log file would have to exist at the same path and size on the destination.
 * Node cannot give a child an anonymous pipe (it uses socketpairs), hence this helper.
 *
 * usage: ferry-shim [--wait] LOGFILE -- COMMAND [ARG...]
 *        ferry-shim --pump LOGFILE        (internal: the pump, reading stdin)
 *   Prints "pump PID" and "child PID" lines on stdout. The command runs in a session of its
 *   own (CRIU wants the workload to lead its own session) with stdin on /dev/null.
 *   Without --wait the shim exits at once (the command is the workload and is adopted by
 *   init). With --wait it waits for the command (e.g. `runc run -d`, `criu restore -d`,
 *   which return once the workload runs) and exits with its status; the pump stays.
 *   The pump re-executes itself as "ferry-shim --pump LOGFILE" so that its command line no
 *   longer names the command (ferry finds stale commands of a migration by command line).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_all(int fd, const char *buf, ssize_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, (size_t)len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += n;
    len -= n;
  }
  return 0;
}

static void stdio_to_devnull(void) {
  int devnull = open("/dev/null", O_RDWR);
  if (devnull < 0) return;
  dup2(devnull, 0);
  dup2(devnull, 1);
  dup2(devnull, 2);
  if (devnull > 2) close(devnull);
}

static int pump(const char *logpath) {
  int log = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log < 0) return 1;
  signal(SIGPIPE, SIG_IGN);
  char buf[65536];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (write_all(log, buf, n) < 0) break;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--pump") == 0) return pump(argv[2]);
  int argi = 1, wait_for_child = 0;
  if (argi < argc && strcmp(argv[argi], "--wait") == 0) { wait_for_child = 1; argi++; }
  if (argc - argi < 3 || strcmp(argv[argi + 1], "--") != 0) {
    fprintf(stderr, "usage: ferry-shim [--wait] LOGFILE -- COMMAND [ARG...]\n");
    return 2;
  }
  const char *logpath = argv[argi];
  char **cmd = &argv[argi + 2];

  int log = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log < 0) { fprintf(stderr, "ferry-shim: open %s: %s\n", logpath, strerror(errno)); return 1; }
  close(log);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) { perror("ferry-shim: pipe"); return 1; }

  pid_t pumper = fork();
  if (pumper < 0) { perror("ferry-shim: fork"); return 1; }
  if (pumper == 0) {
    setsid();
    stdio_to_devnull();
    if (dup2(p[0], 0) < 0) _exit(1);
    close_range(3, ~0U, 0);
    execl("/proc/self/exe", "ferry-shim", "--pump", logpath, (char *)NULL);
    _exit(127);
  }

  pid_t child = fork();
  if (child < 0) { perror("ferry-shim: fork"); return 1; }
  if (child == 0) {
    setsid();
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0) _exit(127);
    close_range(3, ~0U, 0); /* no inherited descriptor may leak into the checkpointed tree */
    execvp(cmd[0], cmd);
    fprintf(stderr, "ferry-shim: exec %s: %s\n", cmd[0], strerror(errno));
    _exit(127);
  }
  close(p[0]);
  close(p[1]);
  printf("pump %d\nchild %d\n", (int)pumper, (int)child);
  fflush(stdout);
  if (!wait_for_child) return 0;
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
