/*
 * x / k for a k fixed over many x, by multiplication, bitwise equal to the division
 * (float32, round to nearest). Used by glassnet/_fastops.c; checked by
 * tests/exact_division_check.c.
 *
 * With y = 1/k rounded once, Markstein's correction
 *
 *     q = x y,   r = x - q k  (exact, one fused multiply-add),   q' = q + r y  (one FMA)
 *
 * gives the correctly rounded x / k. It needs x / k and the remainder r to stay
 * normal: for divisor_in_range(k) (2^-24 <= k <= 2^24) and in_range(x) (x = +-0 or
 * 2^-96 <= |x| < 2^96) they do, and copying x's sign keeps -0 / k = -0. Outside
 * those ranges (x denormal or near it, infinite, NaN) divide instead: below 2^-102
 * the remainder rounds and the result can be one unit in the last place off.
 *
 * Checked against the division over all 2^23 significands of x for every k that
 * Adam's default betas produce (k = 1 - 0.9^t and 1 - 0.999^t, t = 1, 2, ... until
 * k rounds to 1: 10 869 divisors), 3000 random k and the edges of both ranges:
 * no difference (tests/exact_division_check.c; the test suite runs a sample of it).
 */
#ifndef GLASSNET_EXACT_DIVISION_H
#define GLASSNET_EXACT_DIVISION_H

#include <math.h>

static inline int divisor_in_range(float k) { return k >= 0x1p-24f && k <= 0x1p24f; }

/* 1 when x / k can be taken by multiplication (no branches, so loops vectorize) */
static inline int in_range(float x) {
    float a = fabsf(x);
    return ((a >= 0x1p-96f) & (a < 0x1p96f)) | (x == 0);
}

/* x / k for in_range(x), divisor_in_range(k) and y = 1 / k */
static inline float divide_by(float x, float k, float y) {
    float q = x * y;
    float r = fmaf(-q, k, x);
    float quotient = fmaf(r, y, q);
    return copysignf(quotient, x); /* -0 / k is -0; nonzero: the sign already */
}

#endif
