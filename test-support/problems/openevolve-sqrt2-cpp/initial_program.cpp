// One Newton step towards sqrt(2) from a starting guess.
#include <cstdio>

// EVOLVE-BLOCK-START
double start() { return 1.0; }
// EVOLVE-BLOCK-END

int main() {
  double x = start();
  x = 0.5 * (x + 2.0 / x);
  std::printf("%.17g\n", x);
  return 0;
}
