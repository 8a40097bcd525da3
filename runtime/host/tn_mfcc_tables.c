/* Host-only table builder for tn_mfcc_s8 (see tn_mfcc_tables.h). */
#include "tn_mfcc_tables.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double kPi = 3.14159265358979323846;

tn_mfcc_config_t tn_mfcc_config_kws(void)
{
    tn_mfcc_config_t c;
    memset(&c, 0, sizeof c);
    c.sample_rate = 16000.0;
    c.frame_length = 480;
    c.frame_step = 320;
    c.fft_length = 512;
    c.num_mel = 40;
    c.lower_hz = 20.0;
    c.upper_hz = 4000.0;
    c.num_coeffs = 10;
    c.log_floor = 1e-6;
    c.output_scale = 1.0;
    c.output_zero_point = 0;
    return c;
}

tn_mfcc_config_t tn_mfcc_config_logmel_ad(void)
{
    tn_mfcc_config_t c;
    memset(&c, 0, sizeof c);
    c.sample_rate = 16000.0;
    c.frame_length = 1024;
    c.frame_step = 512;
    c.fft_length = 1024;
    c.num_mel = 128;
    c.lower_hz = 0.0;
    c.upper_hz = 8000.0;
    c.num_coeffs = 0;
    c.log_floor = 1e-8;
    c.output_scale = 1.0;
    c.output_zero_point = 0;
    return c;
}

static int32_t q31(double v)
{
    const double r = floor(v * 2147483648.0 + 0.5);
    if (r > 2147483647.0) return INT32_MAX;
    if (r < -2147483647.0) return -INT32_MAX;
    return (int32_t)r;
}

static double hz_to_mel(double f) { return 1127.0 * log(1.0 + f / 700.0); }

void tn_mfcc_tables_free(tn_mfcc_tables_t *t)
{
    if (!t) return;
    free(t->window);
    free(t->twiddle);
    free(t->mel_start);
    free(t->mel_count);
    free(t->mel_weight);
    free(t->dct);
    memset(t, 0, sizeof *t);
}

int tn_mfcc_tables_build(const tn_mfcc_config_t *cfg, tn_mfcc_tables_t *t)
{
    if (!t) return TN_ERR_ARG;
    memset(t, 0, sizeof *t);
    if (!cfg) return TN_ERR_ARG;
    const int32_t N = cfg->fft_length, L = cfg->frame_length, nmel = cfg->num_mel, nc = cfg->num_coeffs;
    if (N < 8 || N > 1024 || (N & (N - 1)) || L < 1 || L > N || cfg->frame_step < 1 || nmel < 1 || nmel > 1024 ||
        nc < 0 || nc > nmel || !(cfg->sample_rate > 0) || !(cfg->lower_hz >= 0) ||
        !(cfg->upper_hz > cfg->lower_hz) || !(cfg->upper_hz <= cfg->sample_rate / 2) || !(cfg->log_floor > 0) ||
        !(cfg->output_scale > 0) || cfg->output_zero_point < -128 || cfg->output_zero_point > 127)
        return TN_ERR_ARG;
    const int32_t M = N / 2;
    t->window = (int32_t *)malloc(sizeof(int32_t) * (size_t)L);
    t->twiddle = (int32_t *)malloc(sizeof(int32_t) * (size_t)N);
    t->mel_start = (int16_t *)calloc((size_t)nmel, sizeof(int16_t));
    t->mel_count = (int16_t *)calloc((size_t)nmel, sizeof(int16_t));
    t->mel_weight = (int16_t *)malloc(sizeof(int16_t) * (size_t)nmel * (size_t)(M + 1));
    t->dct = nc ? (int16_t *)malloc(sizeof(int16_t) * (size_t)nc * (size_t)nmel) : NULL;
    if (!t->window || !t->twiddle || !t->mel_start || !t->mel_count || !t->mel_weight || (nc && !t->dct)) {
        tn_mfcc_tables_free(t);
        return TN_ERR_ARG;
    }
    for (int32_t n = 0; n < L; ++n) t->window[n] = q31(0.5 - 0.5 * cos(2.0 * kPi * n / L));
    for (int32_t k = 0; k < M; ++k) {
        t->twiddle[2 * k] = q31(cos(2.0 * kPi * k / N));
        t->twiddle[2 * k + 1] = q31(sin(2.0 * kPi * k / N));
    }
    /* tf.signal.linear_to_mel_weight_matrix, bins 1..M (DC excluded). */
    const double mlo = hz_to_mel(cfg->lower_hz), mhi = hz_to_mel(cfg->upper_hz);
    int32_t nw = 0;
    for (int32_t m = 0; m < nmel; ++m) {
        const double lo = mlo + (mhi - mlo) * m / (nmel + 1);
        const double ce = mlo + (mhi - mlo) * (m + 1) / (nmel + 1);
        const double hi = mlo + (mhi - mlo) * (m + 2) / (nmel + 1);
        int32_t first = -1, last = -1;
        int16_t q[1025];
        for (int32_t k = 1; k <= M; ++k) {
            const double b = hz_to_mel(k * cfg->sample_rate / N);
            const double w = fmax(0.0, fmin((b - lo) / (ce - lo), (hi - b) / (hi - ce)));
            const double r = floor(w * 32768.0 + 0.5);
            q[k] = (int16_t)(r > 32767.0 ? 32767.0 : r);
            if (q[k] > 0) {
                if (first < 0) first = k;
                last = k;
            }
        }
        if (first < 0) first = last = 0, q[0] = 0;
        t->mel_start[m] = (int16_t)first;
        t->mel_count[m] = (int16_t)(last >= first && q[first] > 0 ? last - first + 1 : 0);
        for (int32_t k = 0; k < t->mel_count[m]; ++k) t->mel_weight[nw++] = q[first + k];
    }
    t->num_weights = nw;
    tn_mfcc_params_t *p = &t->params;
    p->frame_length = L;
    p->frame_step = cfg->frame_step;
    p->fft_length = N;
    p->num_mel = nmel;
    p->num_out = nc ? nc : nmel;
    p->window = t->window;
    p->twiddle = t->twiddle;
    p->mel_start = t->mel_start;
    p->mel_count = t->mel_count;
    p->mel_weight = t->mel_weight;
    p->dct = t->dct;
    double real_mult;
    if (nc) {
        /* D * ln 2 (the kernel's log is log2) scaled so the largest entry fills int16. */
        const double amp = log(2.0) * sqrt(2.0 / nmel);
        int32_t s = 0;
        while (s < 62 && amp * ldexp(1.0, s + 1) <= 32767.0) ++s;
        p->dct_shift = s;
        for (int32_t j = 0; j < nc; ++j)
            for (int32_t m = 0; m < nmel; ++m)
                t->dct[j * nmel + m] =
                    (int16_t)floor(amp * cos(kPi * j * (m + 0.5) / nmel) * ldexp(1.0, s) + 0.5);
        real_mult = ldexp(1.0, -16) / cfg->output_scale; /* c is ln units in Q16 */
    } else {
        p->dct_shift = 0;
        real_mult = log(2.0) * ldexp(1.0, -16) / cfg->output_scale; /* log2 units in Q16 */
    }
    const double fl = floor(cfg->log_floor * ldexp(1.0, 44) + 0.5);
    p->log_floor = fl < 1.0 ? 1u : (fl > 1.8e19 ? UINT64_MAX / 2 : (uint64_t)fl);
    if (tn_quantize_multiplier(real_mult, &p->out_multiplier, &p->out_shift) != TN_OK || p->out_shift < -31 ||
        p->out_shift > 30) {
        tn_mfcc_tables_free(t);
        return TN_ERR_ARG;
    }
    p->output_zero_point = cfg->output_zero_point;
    return TN_OK;
}

static int write_i32(FILE *out, const char *type, const char *prefix, const char *name, const int32_t *v, int32_t n)
{
    if (fprintf(out, "static const %s %s_%s[%d] = {", type, prefix, name, (int)n) < 0) return -1;
    for (int32_t i = 0; i < n; ++i)
        if (fprintf(out, "%s%ld,", i % 12 ? " " : "\n    ", (long)v[i]) < 0) return -1;
    return fprintf(out, "\n};\n") < 0 ? -1 : 0;
}

static int write_i16(FILE *out, const char *prefix, const char *name, const int16_t *v, int32_t n)
{
    if (fprintf(out, "static const int16_t %s_%s[%d] = {", prefix, name, (int)(n ? n : 1)) < 0) return -1;
    for (int32_t i = 0; i < n; ++i)
        if (fprintf(out, "%s%d,", i % 16 ? " " : "\n    ", (int)v[i]) < 0) return -1;
    if (!n && fprintf(out, "0") < 0) return -1;
    return fprintf(out, "\n};\n") < 0 ? -1 : 0;
}

int tn_mfcc_tables_write_c(const tn_mfcc_tables_t *t, const char *prefix, FILE *out)
{
    if (!t || !prefix || !out || !t->window) return -1;
    const tn_mfcc_params_t *p = &t->params;
    if (write_i32(out, "int32_t", prefix, "window", t->window, p->frame_length) ||
        write_i32(out, "int32_t", prefix, "twiddle", t->twiddle, p->fft_length) ||
        write_i16(out, prefix, "mel_start", t->mel_start, p->num_mel) ||
        write_i16(out, prefix, "mel_count", t->mel_count, p->num_mel) ||
        write_i16(out, prefix, "mel_weight", t->mel_weight, t->num_weights) ||
        (t->dct && write_i16(out, prefix, "dct", t->dct, p->num_out * p->num_mel)))
        return -1;
    char dct[96];
    if (t->dct)
        snprintf(dct, sizeof dct, "%s_dct", prefix);
    else
        snprintf(dct, sizeof dct, "NULL");
    return fprintf(out,
                   "static const tn_mfcc_params_t %s_params = {\n"
                   "    %d, %d, %d, %d, %d,\n"
                   "    %s_window, %s_twiddle, %s_mel_start, %s_mel_count, %s_mel_weight, %s,\n"
                   "    %d, %lluull, %ld, %ld, %ld,\n"
                   "};\n",
                   prefix, (int)p->frame_length, (int)p->frame_step, (int)p->fft_length, (int)p->num_mel,
                   (int)p->num_out, prefix, prefix, prefix, prefix, prefix, dct, (int)p->dct_shift,
                   (unsigned long long)p->log_floor, (long)p->out_multiplier, (long)p->out_shift,
                   (long)p->output_zero_point) < 0
               ? -1
               : 0;
}
