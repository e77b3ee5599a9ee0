/* The C helpers of adgraph's C backend (adgraph.jit.c).

   This file ships with the package and is read when a program is generated: a program
   includes only the helpers it calls, each once per floating type that calls it, in this
   file's order. Each helper follows a marker comment "@helper NAME", or "@helper NAME: needs
   DEP, ..." when it calls other helpers (which are then included too, and must stand earlier
   in this file). In a helper, "real_t" stands for the C type (float or double) and "SFX" for
   the libm suffix ("f" for float, none for double): in a float program adg_signSFX is
   adg_signf and log1pSFX is log1pf. A helper whose name ends in "_core" is written in double
   and included once.

   NumPy's semantics are the reference: maximum/minimum propagate nan, sign(nan) is nan,
   floor_divide and remainder follow NumPy's divmod, heaviside(0, h) is h. */

/* @helper sign */
static inline real_t adg_signSFX(real_t x) {
    return x > 0 ? (real_t)1 : (x < 0 ? (real_t)-1 : (x == 0 ? (real_t)0 : x));
}

/* @helper maximum */
static inline real_t adg_maximumSFX(real_t a, real_t b) { return (a > b || a != a) ? a : b; }

/* @helper minimum */
static inline real_t adg_minimumSFX(real_t a, real_t b) { return (a < b || a != a) ? a : b; }

/* @helper logaddexp */
static inline real_t adg_logaddexpSFX(real_t x, real_t y) {
    if (x == y) return x + (real_t)0.693147180559945309417232121458176568;
    real_t d = x - y;
    if (d > 0) return x + log1pSFX(expSFX(-d));
    if (d <= 0) return y + log1pSFX(expSFX(d));
    return d;
}

/* @helper logaddexp2 */
static inline real_t adg_logaddexp2SFX(real_t x, real_t y) {
    if (x == y) return x + (real_t)1;
    real_t d = x - y;
    if (d > 0) return x + (real_t)1.442695040888963407359924681001892137 * log1pSFX(exp2SFX(-d));
    if (d <= 0) return y + (real_t)1.442695040888963407359924681001892137 * log1pSFX(exp2SFX(d));
    return d;
}

/* @helper divmod */
static inline real_t adg_divmodSFX(real_t a, real_t b, real_t* mod) {
    real_t m = fmodSFX(a, b), div, fl;
    if (!b) { *mod = m; return a / b; }
    div = (a - m) / b;
    if (m) { if ((b < 0) != (m < 0)) { m += b; div -= (real_t)1; } }
    else { m = copysignSFX((real_t)0, b); }
    if (div) { fl = floorSFX(div); if (div - fl > (real_t)0.5) fl += (real_t)1; }
    else { fl = copysignSFX((real_t)0, a / b); }
    *mod = m;
    return fl;
}

/* @helper floor_divide: needs divmod */
static inline real_t adg_floor_divideSFX(real_t a, real_t b) {
    real_t m;
    if (!b) return a / b;
    return adg_divmodSFX(a, b, &m);
}

/* @helper remainder: needs divmod */
static inline real_t adg_remainderSFX(real_t a, real_t b) {
    real_t m;
    if (!b) return fmodSFX(a, b);
    adg_divmodSFX(a, b, &m);
    return m;
}

/* @helper heaviside */
static inline real_t adg_heavisideSFX(real_t x, real_t h) {
    if (x != x) return x;
    if (x == 0) return h;
    return x < 0 ? (real_t)0 : (real_t)1;
}

/* @helper polygamma_core */
/* psi^(n)(x): the recurrence psi^(n)(x) = psi^(n)(x+1) + (-1)^(n+1) n!/x^(n+1) up to
   x >= 10 + 2n, then the asymptotic series; digamma of negative x by reflection. */
static double adg_polygamma_core(int n, double x) {
    static const double B[10] = {1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66,
        -691.0 / 2730, 7.0 / 6, -3617.0 / 510, 43867.0 / 798, -174611.0 / 330};
    const double pi = 3.141592653589793238462643383279502884;
    if (x != x) return x;
    if (x <= 0 && x == floor(x)) {
        if (n > 0) return (n % 2) ? INFINITY : -INFINITY;
        return x == 0 ? (signbit(x) ? INFINITY : -INFINITY) : NAN;
    }
    if (n == 0 && x < 0) return adg_polygamma_core(0, 1 - x) - pi / tan(pi * x);
    double fact = 1, sgn = (n % 2) ? 1.0 : -1.0, shift = 0;
    for (int k = 2; k <= n; ++k) fact *= k;
    while (x < 10 + 2 * n) { shift += pow(x, -(n + 1)); x += 1; }
    double asym;
    if (n == 0) {
        double y2 = 1 / (x * x), p = y2, s = 0;
        for (int k = 1; k <= 10; ++k) { s += B[k - 1] / (2 * k) * p; p *= y2; }
        asym = log(x) - 0.5 / x - s;
    } else {
        double s = fact / n / pow(x, n) + fact / (2 * pow(x, n + 1));
        double c = fact / n; /* (2k+n-1)!/(2k)! built incrementally from (n-1)! */
        double p = pow(x, -n);
        for (int k = 1; k <= 10; ++k) {
            c *= (double)(2 * k + n - 2) * (2 * k + n - 1) / ((2 * k - 1) * (2 * k));
            p /= x * x;
            s += B[k - 1] * c * p;
        }
        asym = sgn * s;
    }
    return asym + sgn * fact * shift;
}

/* @helper polygamma: needs polygamma_core */
static inline real_t adg_polygammaSFX(int n, real_t x) { return (real_t)adg_polygamma_core(n, (double)x); }

/* @helper lu */
/* In-place LU factorisation of the row-major n x n matrix a, with partial pivoting
   (the row of largest |a_ik| below the diagonal, the first on ties, as LAPACK); returns the
   sign of the row permutation. A zero pivot is left in place (a singular factor). */
static int adg_luSFX(int n, real_t* a, int* piv) {
    int sign = 1;
    for (int k = 0; k < n; ++k) {
        int p = k;
        real_t big = fabsSFX(a[k * n + k]);
        for (int i = k + 1; i < n; ++i) {
            real_t v = fabsSFX(a[i * n + k]);
            if (v > big) { big = v; p = i; }
        }
        piv[k] = p;
        if (p != k) {
            for (int j = 0; j < n; ++j) {
                real_t t = a[k * n + j]; a[k * n + j] = a[p * n + j]; a[p * n + j] = t;
            }
            sign = -sign;
        }
        real_t d = a[k * n + k];
        if (d != 0) {
            for (int i = k + 1; i < n; ++i) {
                real_t l = a[i * n + k] / d;
                a[i * n + k] = l;
                for (int j = k + 1; j < n; ++j) a[i * n + j] -= l * a[k * n + j];
            }
        }
    }
    return sign;
}
