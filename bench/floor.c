/* The floor: the least a hook can cost. Reads stdin to the end and prints one line. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  char buffer[65536];
  size_t total = 0;
  ssize_t got;
  while ((got = read(0, buffer, sizeof buffer)) > 0) total += (size_t)got;
  printf("floor read %zu bytes\n", total);
  return 0;
}
