/* The statusline bench's timing loop: every iteration runs every case once, in order, on the same input file
 * (stdin from the file, stdout to /dev/null), timing spawn-to-exit wall time. Interleaved, so machine noise
 * hits all cases alike. Prints "name median_ms p90_ms failures" per case.
 *
 * usage: timer ITERATIONS WARMUP INPUT NAME PROGRAM [ARGS...] -- NAME PROGRAM [ARGS...] -- ... */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

struct bench_case {
  const char* name;
  char** argv;
  double* ms;
  int failures;
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double run_once(char** argv, const char* input, int devnull, int* failed) {
  int in = open(input, O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    fprintf(stderr, "cannot open %s: %s\n", input, strerror(errno));
    exit(2);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in, 0);
  posix_spawn_file_actions_adddup2(&actions, devnull, 1);
  posix_spawn_file_actions_adddup2(&actions, devnull, 2);
  pid_t pid;
  const double start = now_ms();
  int rc = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
  int status = 0;
  if (rc == 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  const double elapsed = now_ms() - start;
  posix_spawn_file_actions_destroy(&actions);
  close(in);
  if (rc != 0) {
    fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(rc));
    exit(2);
  }
  *failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return elapsed;
}

static int compare(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: timer ITERATIONS WARMUP INPUT NAME PROGRAM [ARGS...] [-- NAME PROGRAM ...]\n");
    return 2;
  }
  const int iterations = atoi(argv[1]);
  const int warmup = atoi(argv[2]);
  const char* input = argv[3];
  struct bench_case cases[32];
  int count = 0;
  for (int i = 4; i < argc && count < 32;) {
    cases[count].name = argv[i++];
    cases[count].argv = &argv[i];
    while (i < argc && strcmp(argv[i], "--") != 0) ++i;
    if (i < argc) argv[i++] = NULL; /* terminates this case's argv */
    cases[count].ms = calloc((size_t)iterations, sizeof(double));
    cases[count].failures = 0;
    ++count;
  }
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  for (int it = 0; it < warmup + iterations; ++it) {
    for (int c = 0; c < count; ++c) {
      int failed = 0;
      const double ms = run_once(cases[c].argv, input, devnull, &failed);
      if (it >= warmup) {
        cases[c].ms[it - warmup] = ms;
        cases[c].failures += failed;
      }
    }
  }
  for (int c = 0; c < count; ++c) {
    qsort(cases[c].ms, (size_t)iterations, sizeof(double), compare);
    printf("%s %.3f %.3f %d\n", cases[c].name, cases[c].ms[iterations / 2], cases[c].ms[(iterations * 9) / 10],
           cases[c].failures);
  }
  return 0;
}
