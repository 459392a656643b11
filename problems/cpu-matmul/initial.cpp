// Seed for cpu-matmul: the naive triple loop (the same kernel as baseline.cpp, so speedup ~ 1).
//
// Protocol (keep main() compatible): `prog IN OUT`. IN holds an int32 n, then A and B, each n*n
// doubles in row-major order; the program writes C = A * B (n*n doubles, row-major) to OUT.
// The evaluator times the whole process from outside, so everything main() does counts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

// EVOLVE-BLOCK-START
// C = A * B for n x n row-major matrices of doubles.
void matmul(int n, const double* A, const double* B, double* C) {
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
            double sum = 0.0;
            for (int k = 0; k < n; ++k) sum += A[(size_t)i * n + k] * B[(size_t)k * n + j];
            C[(size_t)i * n + j] = sum;
        }
    }
}
// EVOLVE-BLOCK-END

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s IN OUT\n", argv[0]);
        return 2;
    }
    FILE* in = std::fopen(argv[1], "rb");
    if (!in) return 3;
    int32_t n = 0;
    if (std::fread(&n, sizeof n, 1, in) != 1 || n <= 0) return 4;
    size_t nn = (size_t)n * n;
    std::vector<double> A(nn), B(nn), C(nn);
    if (std::fread(A.data(), sizeof(double), nn, in) != nn || std::fread(B.data(), sizeof(double), nn, in) != nn) return 5;
    std::fclose(in);
    matmul(n, A.data(), B.data(), C.data());
    FILE* out = std::fopen(argv[2], "wb");
    if (!out) return 6;
    std::fwrite(C.data(), sizeof(double), nn, out);
    std::fclose(out);
    return 0;
}
