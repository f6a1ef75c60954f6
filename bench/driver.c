/* The bench's timing loop: for each iteration and each case, runs the floor and then the hook on the same
 * payload file (stdin from the file, stdout to /dev/null), timing spawn-to-exit wall time. Round-robin and
 * interleaved, so machine noise hits floor and hooks alike. Prints one line per case with the medians.
 *
 * usage: driver ITERATIONS WARMUP FLOOR_BINARY NAME BINARY PAYLOAD_DIR [NAME BINARY PAYLOAD_DIR ...]
 * PAYLOAD_DIR holds 0.json .. (ITERATIONS+WARMUP-1).json: one payload per run (distinct natural keys). */
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
  const char* binary;
  const char* payload_dir;
  double* floor_ms;
  double* hook_ms;
  int failures;
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Runs binary with stdin from payload; returns wall milliseconds, or -1 when it did not exit 0. */
static double run_once(const char* binary, const char* payload, int devnull) {
  int in = open(payload, O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    fprintf(stderr, "cannot open %s: %s\n", payload, strerror(errno));
    exit(2);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in, 0);
  posix_spawn_file_actions_adddup2(&actions, devnull, 1);
  char* argv[] = {(char*)binary, NULL};
  pid_t pid;
  const double start = now_ms();
  int rc = posix_spawn(&pid, binary, &actions, NULL, argv, environ);
  int status = 0;
  if (rc == 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  const double elapsed = now_ms() - start;
  posix_spawn_file_actions_destroy(&actions);
  close(in);
  if (rc != 0) {
    fprintf(stderr, "cannot run %s: %s\n", binary, strerror(rc));
    exit(2);
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? elapsed : -1.0;
}

static int compare(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static double median(double* values, int count) {
  qsort(values, (size_t)count, sizeof *values, compare);
  return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2.0;
}

int main(int argc, char** argv) {
  if (argc < 7 || (argc - 4) % 3 != 0) {
    fprintf(stderr, "usage: %s ITERATIONS WARMUP FLOOR NAME BINARY PAYLOAD_DIR [...]\n", argv[0]);
    return 2;
  }
  const int iterations = atoi(argv[1]);
  const int warmup = atoi(argv[2]);
  const char* floor_binary = argv[3];
  const int cases = (argc - 4) / 3;
  struct bench_case* all = calloc((size_t)cases, sizeof *all);
  for (int c = 0; c < cases; ++c) {
    all[c].name = argv[4 + 3 * c];
    all[c].binary = argv[5 + 3 * c];
    all[c].payload_dir = argv[6 + 3 * c];
    all[c].floor_ms = calloc((size_t)iterations, sizeof(double));
    all[c].hook_ms = calloc((size_t)iterations, sizeof(double));
  }
  const int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  char payload[4096];
  for (int i = 0; i < warmup + iterations; ++i) {
    for (int c = 0; c < cases; ++c) {
      snprintf(payload, sizeof payload, "%s/%d.json", all[c].payload_dir, i);
      const double floor_ms = run_once(floor_binary, payload, devnull);
      const double hook_ms = run_once(all[c].binary, payload, devnull);
      if (hook_ms < 0) ++all[c].failures;
      if (i >= warmup) {
        all[c].floor_ms[i - warmup] = floor_ms;
        all[c].hook_ms[i - warmup] = hook_ms;
      }
    }
  }
  for (int c = 0; c < cases; ++c) {
    const double floor_median = median(all[c].floor_ms, iterations);
    const double hook_median = median(all[c].hook_ms, iterations);
    printf("%s %.4f %.4f %d\n", all[c].name, floor_median, hook_median, all[c].failures);
  }
  return 0;
}
