/*
 * Checks glassnet/_exact_division.h: divide_by(x, k, 1/k) == x / k for every float32
 * significand x in [1, 2), for the divisors Adam's bias corrections produce
 * (k = 1 - beta^t rounded to float32, t = 1, 2, ... until k rounds to 1), for random
 * k with divisor_in_range(k), and at the edges of in_range(x). Division is exact
 * under scaling by powers of two, so one binade of x covers every x whose quotient
 * and remainder stay normal; the edge binades check that in_range keeps to those.
 *
 *   exact_division_check BETA1 BETA2 STRIDE RANDOM SEED
 *
 * checks every STRIDE-th divisor of each beta's sequence and RANDOM random divisors;
 * prints the counts and exits 1 on any difference. The full check (STRIDE 1, RANDOM
 * 3000) takes ~40 s; tests/test_fastops.py runs a sample.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "_exact_division.h"

static float from_bits(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* differences over all 2^23 significands of x in [2^e, 2^(e+1)), both signs */
static long differences(float k, int e) {
    float y = 1 / k;
    uint32_t exponent = (uint32_t)(127 + e) << 23; /* a normal binade: -126 <= e <= 127 */
    long count = 0;
    for (uint32_t m = 0; m < (1u << 23); m++) {
        float x = from_bits(exponent | m);
        count += (divide_by(x, k, y) != x / k) + (divide_by(-x, k, y) != -x / k);
    }
    return count;
}

static long total = 0, divisors = 0;

static void check(float k, int e) {
    long bad = differences(k, e);
    divisors++;
    total += bad;
    if (bad) printf("k = %a, x in [2^%d, 2^%d): %ld differences\n", k, e, e + 1, bad);
}

static void bias_corrections(double beta, int stride) {
    float previous = -1;
    int distinct = 0;
    for (int t = 1;; t++) {
        float k = (float)(1.0 - pow(beta, t));
        if (k != previous && distinct++ % stride == 0) check(k, 0);
        previous = k;
        if (k == 1.0f) break;
    }
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s BETA1 BETA2 STRIDE RANDOM SEED\n", argv[0]);
        return 2;
    }
    int stride = atoi(argv[3]), random_count = atoi(argv[4]);
    bias_corrections(atof(argv[1]), stride);
    bias_corrections(atof(argv[2]), stride);
    srand((unsigned)atoi(argv[5]));
    for (int i = 0; i < random_count; i++) {
        uint32_t m = ((uint32_t)rand() ^ ((uint32_t)rand() << 16)) & 0x7fffffu;
        check(ldexpf(from_bits(0x3f800000u | m), -(rand() % 25)), 0);
    }
    /* significands of all ones and none, k at both ends of divisor_in_range, and
       x at both ends of in_range */
    float edges[] = {from_bits(0x3f7fffffu), 0.75f, 1.0f, 0x1p-24f, 0x1.fffffep-1f * 0x1p-23f,
                     0x1p24f, 0x1.fffffep23f, 0.1f};
    int lowest = 127, highest = -126; /* the binades in_range takes */
    for (int e = -126; e <= 127; e++)
        if (in_range(from_bits((uint32_t)(127 + e) << 23))) {
            lowest = e < lowest ? e : lowest;
            highest = e;
        }
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
        check(edges[i], lowest);
        check(edges[i], highest);
    }
    printf("%ld divisors, %ld differences\n", divisors, total);
    return total != 0;
}
