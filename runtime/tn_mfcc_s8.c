/* MFCC / log-mel front end: int16 PCM -> int8 feature map [frames][coefficients].
 *
 * Per frame (all integer arithmetic; tables come in tn_mfcc_params_t):
 *  1. window:   p = x * w, x int16, w Q31 >= 0 (exact in int64, |p| < 2^46);
 *               block exponent: v = round(p * 2^-sh) with sh chosen from the
 *               frame's max |p| so that max |v| is in [2^28, 2^29] (29-bit
 *               mantissa whatever the loudness; silence: sh = 0, v = 0).
 *  2. FFT:      real FFT of fft_length = N as a complex FFT of M = N/2 points
 *               (radix 2, DIT, in place, bit-reversed load) on int32 Q31
 *               twiddles; every butterfly halves: a' = round((a + b W) / 2)
 *               (one rounding of the int64 a 2^31 + b W: two SMLAL) and
 *               b' = a - a' (stages 1-2, twiddles 1 and -i, without
 *               multiplies), so Z = DFT_M(v) / M; the split
 *               step X[k] = (Z[k] + conj Z[M-k]) / 2 + W_N^k (Z[k] - conj Z[M-k]) / 2i
 *               gives X = DFT_N(v) / M with |X| < 2^30 (X[M-k] from S - X[k]).
 *  3. power:    P = Xr^2 + Xi^2 < 2^60 (uint64), stored as P >> 12 in place
 *               of the FFT bins (one union slot per bin, M + 1 slots).
 *  4. mel:      acc = sum w_q15 * (P >> 12) (uint64, < 2^63 by Parseval),
 *               rescaled by the frame's exponent to the absolute format Q44
 *               of the power of x/32768 (rounded shift), plus log_floor (Q44).
 *  5. log:      log2 = position of the leading one + log2(1 + f) from a
 *               65-entry Q30 table with linear interpolation (error < 5e-5),
 *               minus 44, kept in Q16.
 *  6. DCT:      c = round(sum dct[j][m] * L[m] * 2^-dct_shift) (int64 sum),
 *               or c = L[m] when dct == NULL (log-mel).
 *  7. output:   y = clamp(MBQM(c, out_multiplier, out_shift) + zp, -128, 127).
 * Deterministic integer code: host and Cortex-M give the same bytes.
 */
#include <string.h>

#include "tn_internal.h"
#include "tn_runtime.h"

typedef union {
    int32_t c[2];  /* FFT bin: real, imaginary */
    uint64_t p;    /* power >> 12, after the split step */
} tn__mfcc_bin_t;

#define TN__MFCC_PRE_SHIFT 12

/* log2(1 + i/64) in Q30, i = 0..64. */
static const int32_t tn__log2_tab[65] = {
    0, 24017256, 47667823, 70962728, 93912511, 116527248,
    138816582, 160789745, 182455581, 203822568, 224898839, 245692198,
    266210141, 286459867, 306448299, 326182095, 345667660, 364911162,
    383918542, 402695523, 421247625, 439580170, 457698295, 475606957,
    493310944, 510814882, 528123241, 545240343, 562170370, 578917365,
    595485245, 611877800, 628098702, 644151509, 660039669, 675766525,
    691335320, 706749198, 722011213, 737124328, 752091421, 766915285,
    781598637, 796144114, 810554283, 824831638, 838978604, 852997541,
    866890747, 880660455, 894308843, 907838029, 921250079, 934547002,
    947730758, 960803257, 973766362, 986621888, 999371606, 1012017244,
    1024560487, 1037002979, 1049346328, 1061592099, 1073741824};

static int tn__clz64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return x ? __builtin_clzll(x) : 64;
#else
    int n = 0;
    if (!x) return 64;
    while (!(x & 0x8000000000000000ull)) {
        x <<= 1;
        ++n;
    }
    return n;
#endif
}

/* log2(y) - 44 in Q16, y >= 1. */
static int32_t tn__log2_q44_q16(uint64_t y)
{
    const int lz = tn__clz64(y);
    const int32_t n = 63 - lz;
    const uint32_t f = (uint32_t)((y << lz) >> 32); /* [2^31, 2^32) */
    const uint32_t frac = f - 0x80000000u;          /* Q31 */
    const uint32_t i = frac >> 25, t = frac & 0x1FFFFFFu;
    const int32_t a = tn__log2_tab[i];
    const int32_t l30 = a + (int32_t)(((int64_t)(tn__log2_tab[i + 1] - a) * (int64_t)t) >> 25);
    return (int32_t)((uint32_t)(n - 44) << 16) + ((l30 + (1 << 13)) >> 14);
}

static int tn__is_pow2(int32_t n) { return n > 0 && (n & (n - 1)) == 0; }

static int tn__mfcc_check(const tn_mfcc_params_t *p)
{
    if (!p || !p->window || !p->twiddle || !p->mel_start || !p->mel_count || !p->mel_weight) return 0;
    if (!tn__is_pow2(p->fft_length) || p->fft_length < 8 || p->fft_length > 1024) return 0;
    if (p->frame_length < 1 || p->frame_length > p->fft_length || p->frame_step < 1) return 0;
    if (p->num_mel < 1 || p->num_out < 1) return 0;
    if (p->dct ? (p->num_out > p->num_mel || p->dct_shift < 0 || p->dct_shift > 62) : p->num_out != p->num_mel)
        return 0;
    if (p->out_shift < -31 || p->out_shift > 30 || p->output_zero_point < -128 || p->output_zero_point > 127)
        return 0;
    const int32_t m = p->fft_length / 2;
    for (int32_t i = 0; i < p->frame_length; ++i)
        if (p->window[i] < 0) return 0;
    for (int32_t i = 0; i < p->num_mel; ++i)
        if (p->mel_start[i] < 0 || p->mel_count[i] < 0 || p->mel_start[i] + p->mel_count[i] > m + 1) return 0;
    return 1;
}

size_t tn_mfcc_s8_scratch_bytes(const tn_mfcc_params_t *p)
{
    if (!p || !tn__is_pow2(p->fft_length) || p->num_mel < 0) return 0;
    return (size_t)(p->fft_length / 2 + 1) * sizeof(tn__mfcc_bin_t) + (size_t)p->num_mel * sizeof(int32_t);
}

int32_t tn_mfcc_num_frames(const tn_mfcc_params_t *p, int32_t num_samples)
{
    if (!p || p->frame_length < 1 || p->frame_step < 1 || num_samples < p->frame_length) return 0;
    return 1 + (num_samples - p->frame_length) / p->frame_step;
}

/* (a + (b0 c0 + b1 c1) / 2^31) / 2 rounded to nearest (ties up), exactly:
 * the high word of the 64-bit a * 2^31 + 2^31 + b0 c0 + b1 c1, whose start
 * value is ((a + 1) >> 1) : (a even ? 2^31 : 0), then two multiply-accumulates
 * (SMLAL). |a| < 2^31 - 1 and the sum must fit int64 (it does: |a| <= 2^30.5,
 * |b| <= 2^30.5 with Q31 c). */
TN_INLINE int32_t tn__half_mac2(int32_t a, int32_t b0, int32_t c0, int32_t b1, int32_t c1)
{
    int64_t acc = (int64_t)(((uint64_t)(uint32_t)((a + 1) >> 1) << 32) | ((a & 1) ? 0u : 0x80000000u));
    acc += (int64_t)b0 * c0;
    acc += (int64_t)b1 * c1;
    return (int32_t)(acc >> 32);
}

/* Window + block exponent + bit-reversed load; returns sh (v = p * 2^-sh). */
/* round(x * w * 2^-sh) for 0 < sh < 32 (the result fits int32): the 64-bit
 * x * w + 2^(sh-1) (SMLAL) shifted right by sh, assembled from its two words. */
TN_INLINE int32_t tn__win_shr(int32_t x, int32_t w, int32_t sh)
{
    int64_t acc = (int64_t)1 << (sh - 1);
    acc += (int64_t)x * w;
    return (int32_t)(((uint32_t)acc >> sh) | ((uint32_t)((uint64_t)acc >> 32) << (32 - sh)));
}

/* Window + block exponent + bit-reversed load; returns sh (v = x * w * 2^-sh). */
static int32_t tn__mfcc_load(const tn_mfcc_params_t *p, const int16_t *x, tn__mfcc_bin_t *bin)
{
    const int32_t L = p->frame_length, M = p->fft_length / 2;
    const int32_t *w = p->window;
    /* The bit length of max |x w| is that of the OR of all |x w| (w >= 0). */
    uint32_t lo = 0, hi = 0;
    for (int32_t n = 0; n < L; ++n) {
        const int32_t xn = x[n];
        const uint64_t a = (uint64_t)(uint32_t)(xn < 0 ? -xn : xn) * (uint32_t)w[n];
        lo |= (uint32_t)a;
        hi |= (uint32_t)(a >> 32);
    }
    const uint64_t mx = ((uint64_t)hi << 32) | lo;
    const int32_t sh = mx ? (64 - tn__clz64(mx)) - 29 : 0; /* max |v| in [2^28, 2^29] */
    int32_t *const z = bin[0].c;
    const int32_t pairs = L / 2; /* pairs of samples inside the frame */
    int32_t n = 0, j = 0;
#define TN__REV_INC(j)                     \
    do {                                   \
        int32_t bit_ = M >> 1;             \
        while ((j) & bit_) {               \
            (j) ^= bit_;                   \
            bit_ >>= 1;                    \
        }                                  \
        (j) |= bit_;                       \
    } while (0)
    if (sh > 0) {
        for (; n < pairs; ++n) {
            z[2 * j] = tn__win_shr(x[2 * n], w[2 * n], sh);
            z[2 * j + 1] = tn__win_shr(x[2 * n + 1], w[2 * n + 1], sh);
            TN__REV_INC(j);
        }
    } else { /* every |x w| < 2^29: exact in int32 */
        for (; n < pairs; ++n) {
            z[2 * j] = (int32_t)((uint32_t)(x[2 * n] * w[2 * n]) << -sh);
            z[2 * j + 1] = (int32_t)((uint32_t)(x[2 * n + 1] * w[2 * n + 1]) << -sh);
            TN__REV_INC(j);
        }
    }
    for (; n < M; ++n) {
        int32_t re = 0;
        if (2 * n < L) /* odd frame_length: the last sample */
            re = sh > 0 ? tn__win_shr(x[2 * n], w[2 * n], sh) : (int32_t)((uint32_t)(x[2 * n] * w[2 * n]) << -sh);
        z[2 * j] = re;
        z[2 * j + 1] = 0;
        TN__REV_INC(j);
    }
#undef TN__REV_INC
    return sh;
}

static void tn__mfcc_fft(const tn_mfcc_params_t *p, tn__mfcc_bin_t *bin)
{
    const int32_t M = p->fft_length / 2;
    const int32_t *tw = p->twiddle;
    int32_t *const z = bin[0].c; /* interleaved re, im */
    /* Stages h = 1 and 2 (twiddles 1 and -i, exact: no multiplies), four
     * points at a time; the same halving butterflies as below. */
    for (int32_t g = 0; g < 2 * M; g += 8) {
        int32_t *q = z + g;
        const int32_t x0r = q[0], x0i = q[1], x1r = q[2], x1i = q[3];
        const int32_t x2r = q[4], x2i = q[5], x3r = q[6], x3i = q[7];
        const int32_t u0r = (x0r + x1r + 1) >> 1, u0i = (x0i + x1i + 1) >> 1;
        const int32_t u1r = x0r - u0r, u1i = x0i - u0i;
        const int32_t u2r = (x2r + x3r + 1) >> 1, u2i = (x2i + x3i + 1) >> 1;
        const int32_t u3r = x2r - u2r, u3i = x2i - u2i;
        const int32_t y0r = (u0r + u2r + 1) >> 1, y0i = (u0i + u2i + 1) >> 1;
        const int32_t y1r = (u1r + u3i + 1) >> 1, y1i = (u1i - u3r + 1) >> 1; /* u3 * -i = u3i - i u3r */
        q[0] = y0r;
        q[1] = y0i;
        q[2] = y1r;
        q[3] = y1i;
        q[4] = u0r - y0r;
        q[5] = u0i - y0i;
        q[6] = u1r - y1r;
        q[7] = u1i - y1i;
    }
    for (int32_t h = 4; h < M; h <<= 1) {
        const int32_t step = 2 * (M / h);
        for (int32_t j = 0; j < h; ++j) {
            const int32_t c = tw[j * step], s = tw[j * step + 1];
            int32_t *a = z + 2 * j, *const end = z + 2 * M;
            for (; a < end; a += 4 * h) {
                int32_t *b = a + 2 * h;
                const int32_t ar = a[0], ai = a[1], br = b[0], bi = b[1];
                /* b W = (br c + bi s) + i (bi c - br s); a' = (a + b W) / 2 rounded,
                 * b' = a - a' (= (a - b W) / 2 rounded the other way on ties) */
                const int32_t xr = tn__half_mac2(ar, br, c, bi, s);
                const int32_t xi = tn__half_mac2(ai, bi, c, -br, s);
                a[0] = xr;
                a[1] = xi;
                b[0] = ar - xr;
                b[1] = ai - xi;
            }
        }
    }
}

/* |x|^2 >> 12 (|x| components < 2^30.5). */
TN_INLINE uint64_t tn__power(int32_t r, int32_t i)
{
    return (uint64_t)((int64_t)r * r + (int64_t)i * i) >> TN__MFCC_PRE_SHIFT;
}

/* Split step and power, in place: bin[k].p = |X[k]|^2 >> 12, k = 0..M. */
static void tn__mfcc_power(const tn_mfcc_params_t *p, tn__mfcc_bin_t *bin)
{
    const int32_t M = p->fft_length / 2;
    const int32_t *tw = p->twiddle;
    {
        const int32_t r = bin[0].c[0], i = bin[0].c[1];
        bin[0].p = tn__power(r + i, 0);
        bin[M].p = tn__power(r - i, 0);
    }
    for (int32_t k = 1; k <= M / 2; ++k) {
        const int32_t ar = bin[k].c[0], ai = bin[k].c[1];
        const int32_t br = bin[M - k].c[0], bi = bin[M - k].c[1];
        const int32_t sr = ar + br, si = ai - bi; /* S = A + conj(B) */
        const int32_t dr = ai + bi, di = br - ar; /* D = -i (A - conj(B)) */
        const int32_t c = tw[2 * k], s = tw[2 * k + 1];
        /* X[k] = (S + W D) / 2, X[M-k] = conj(S - X[k]), W D = (dr c + di s) + i (di c - dr s) */
        const int32_t xr = tn__half_mac2(sr, dr, c, di, s), xi = tn__half_mac2(si, di, c, -dr, s);
        const int32_t yr = sr - xr, yi = si - xi;
        bin[k].p = tn__power(xr, xi);
        bin[M - k].p = tn__power(yr, yi);
    }
}

static int8_t tn__mfcc_out(const tn_mfcc_params_t *p, int32_t c)
{
    int32_t y = tn_multiply_by_quantized_multiplier(c, p->out_multiplier, p->out_shift) + p->output_zero_point;
    if (y < -128) y = -128;
    if (y > 127) y = 127;
    return (int8_t)y;
}

int tn_mfcc_s8(const tn_mfcc_params_t *p, const int16_t *pcm, int32_t num_samples, int8_t *output, void *scratch)
{
    if (!tn__mfcc_check(p) || !pcm || !output || !scratch || ((uintptr_t)scratch & 7u)) return TN_ERR_ARG;
    const int32_t frames = tn_mfcc_num_frames(p, num_samples);
    if (frames < 1) return TN_ERR_SHAPE;
    const int32_t M = p->fft_length / 2, nmel = p->num_mel, nout = p->num_out;
    tn__mfcc_bin_t *bin = (tn__mfcc_bin_t *)scratch;
    int32_t *logmel = (int32_t *)(void *)(bin + M + 1);
    int32_t lg_m = 0;
    while ((1 << lg_m) < M) ++lg_m;

    for (int32_t f = 0; f < frames; ++f) {
        const int32_t sh = tn__mfcc_load(p, pcm + (size_t)f * (size_t)p->frame_step, bin);
        tn__mfcc_fft(p, bin);
        tn__mfcc_power(p, bin);
        /* X = DFT_N(v) / M, v = p * 2^-sh, p = x * w * 2^46 (x, w in [-1, 1)):
         * mel_q44 = sum w_q15 * |X|^2 * 2^(63 - 2 sh - 2 log2 M); acc holds
         * sum w_q15 * (|X|^2 >> 12), so shift it right by post. */
        const int32_t post = 63 - 2 * sh - 2 * lg_m - TN__MFCC_PRE_SHIFT;
        const int16_t *wt = p->mel_weight;
        for (int32_t m = 0; m < nmel; ++m) {
            const tn__mfcc_bin_t *b = bin + p->mel_start[m];
            const int32_t n = p->mel_count[m];
            uint64_t acc = 0;
            for (int32_t i = 0; i < n; ++i) acc += (uint64_t)(uint16_t)wt[i] * b[i].p;
            wt += n;
            uint64_t mel;
            if (post >= 64)
                mel = 0;
            else if (post > 0)
                mel = (acc + ((uint64_t)1 << (post - 1))) >> post;
            else
                mel = acc > (UINT64_MAX >> -post) ? UINT64_MAX : acc << -post;
            mel = mel > UINT64_MAX - p->log_floor ? UINT64_MAX : mel + p->log_floor;
            logmel[m] = tn__log2_q44_q16(mel ? mel : 1u);
        }
        int8_t *out = output + (size_t)f * (size_t)nout;
        if (!p->dct) {
            for (int32_t m = 0; m < nmel; ++m) out[m] = tn__mfcc_out(p, logmel[m]);
        } else {
            const int16_t *d = p->dct;
            const int64_t half = p->dct_shift > 0 ? (int64_t)1 << (p->dct_shift - 1) : 0;
            for (int32_t j = 0; j < nout; ++j, d += nmel) {
                int64_t acc = 0;
                for (int32_t m = 0; m < nmel; ++m) acc += (int64_t)d[m] * logmel[m];
                out[j] = tn__mfcc_out(p, (int32_t)((acc + half) >> p->dct_shift));
            }
        }
    }
    return TN_OK;
}
