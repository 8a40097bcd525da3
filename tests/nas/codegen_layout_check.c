/*
 * Build-time check of the runtime parameter structs' field order that the operators in ops/ (emitted by nas/export/codegen.cpp) assume:
 * it writes tn_conv_params_t, tn_add_params_t, tn_fc_params_t, tn_mse_params_t and tn_upsample_params_t as
 * POSITIONAL initialisers, so
 * reordering, inserting or retyping a field in runtime/tn_runtime.h would silently put values in
 * the wrong fields of every exported model. Compiled (C11, for _Static_assert) into the nas test
 * suite: a change to the structs fails the project's build here, until codegen and this list
 * move together. (tests/nas/codegen_compile_test.cpp checks the generated values by name.)
 */
#include <stddef.h>

#include "runtime/tn_runtime.h"

#define TN_MEMBER_SIZE(T, f) sizeof(((T *)0)->f)
/* f is T's first field. */
#define TN_FIRST(T, f) _Static_assert(offsetof(T, f) == 0, #T "." #f " is not the first field")
/* b comes right after a (no field in between). */
#define TN_NEXT(T, a, b)                                                                       \
    _Static_assert(offsetof(T, b) == offsetof(T, a) + TN_MEMBER_SIZE(T, a) ||                   \
                       (offsetof(T, b) > offsetof(T, a) && offsetof(T, b) % sizeof(void *) == 0 && \
                        offsetof(T, b) - offsetof(T, a) - TN_MEMBER_SIZE(T, a) < sizeof(void *)),  \
                   #T "." #b " does not follow ." #a)
/* f is the last field: nothing but tail padding after it. */
#define TN_LAST(T, f)                                                                          \
    _Static_assert(sizeof(T) - offsetof(T, f) - TN_MEMBER_SIZE(T, f) < _Alignof(T),            \
                   #T "." #f " is not the last field")
/* Value fields are int32_t, the requantisation arrays const int32_t pointers. */
#define TN_I32(T, f) _Static_assert(TN_MEMBER_SIZE(T, f) == sizeof(int32_t), #T "." #f " is not 32-bit")
#define TN_PTR(T, f) _Static_assert(TN_MEMBER_SIZE(T, f) == sizeof(const int32_t *), #T "." #f " is not a pointer")

/* tn_conv_params_t: codegen's conv_params(), 20 values. */
TN_FIRST(tn_conv_params_t, h_in);
TN_NEXT(tn_conv_params_t, h_in, w_in);
TN_NEXT(tn_conv_params_t, w_in, c_in);
TN_NEXT(tn_conv_params_t, c_in, h_out);
TN_NEXT(tn_conv_params_t, h_out, w_out);
TN_NEXT(tn_conv_params_t, w_out, c_out);
TN_NEXT(tn_conv_params_t, c_out, kh);
TN_NEXT(tn_conv_params_t, kh, kw);
TN_NEXT(tn_conv_params_t, kw, stride_h);
TN_NEXT(tn_conv_params_t, stride_h, stride_w);
TN_NEXT(tn_conv_params_t, stride_w, pad_top);
TN_NEXT(tn_conv_params_t, pad_top, pad_left);
TN_NEXT(tn_conv_params_t, pad_left, pad_bottom);
TN_NEXT(tn_conv_params_t, pad_bottom, pad_right);
TN_NEXT(tn_conv_params_t, pad_right, input_zero_point);
TN_NEXT(tn_conv_params_t, input_zero_point, output_zero_point);
TN_NEXT(tn_conv_params_t, output_zero_point, act_min);
TN_NEXT(tn_conv_params_t, act_min, act_max);
TN_NEXT(tn_conv_params_t, act_max, out_multiplier);
TN_NEXT(tn_conv_params_t, out_multiplier, out_shift);
TN_LAST(tn_conv_params_t, out_shift);
TN_I32(tn_conv_params_t, h_in);
TN_I32(tn_conv_params_t, act_max);
TN_PTR(tn_conv_params_t, out_multiplier);
TN_PTR(tn_conv_params_t, out_shift);
_Static_assert(sizeof(tn_conv_params_t) >= 18 * sizeof(int32_t) + 2 * sizeof(void *), "tn_conv_params_t");

/* tn_add_params_t: codegen's add{i}, 12 values. */
TN_FIRST(tn_add_params_t, input1_zero_point);
TN_NEXT(tn_add_params_t, input1_zero_point, input2_zero_point);
TN_NEXT(tn_add_params_t, input2_zero_point, output_zero_point);
TN_NEXT(tn_add_params_t, output_zero_point, left_shift);
TN_NEXT(tn_add_params_t, left_shift, input1_multiplier);
TN_NEXT(tn_add_params_t, input1_multiplier, input1_shift);
TN_NEXT(tn_add_params_t, input1_shift, input2_multiplier);
TN_NEXT(tn_add_params_t, input2_multiplier, input2_shift);
TN_NEXT(tn_add_params_t, input2_shift, output_multiplier);
TN_NEXT(tn_add_params_t, output_multiplier, output_shift);
TN_NEXT(tn_add_params_t, output_shift, act_min);
TN_NEXT(tn_add_params_t, act_min, act_max);
TN_LAST(tn_add_params_t, act_max);
_Static_assert(sizeof(tn_add_params_t) == 12 * sizeof(int32_t), "tn_add_params_t: 12 int32_t");

/* tn_fc_params_t: codegen's fc p{i}, 9 values (per_channel = 1). */
TN_FIRST(tn_fc_params_t, in_features);
TN_NEXT(tn_fc_params_t, in_features, out_features);
TN_NEXT(tn_fc_params_t, out_features, input_zero_point);
TN_NEXT(tn_fc_params_t, input_zero_point, output_zero_point);
TN_NEXT(tn_fc_params_t, output_zero_point, act_min);
TN_NEXT(tn_fc_params_t, act_min, act_max);
TN_NEXT(tn_fc_params_t, act_max, out_multiplier);
TN_NEXT(tn_fc_params_t, out_multiplier, out_shift);
TN_NEXT(tn_fc_params_t, out_shift, per_channel);
TN_LAST(tn_fc_params_t, per_channel);
TN_I32(tn_fc_params_t, in_features);
TN_I32(tn_fc_params_t, per_channel);
TN_PTR(tn_fc_params_t, out_multiplier);
TN_PTR(tn_fc_params_t, out_shift);

/* tn_mse_params_t: ops/kinds/mse.cpp's mse{i}, 4 values. */
TN_FIRST(tn_mse_params_t, recon_zero_point);
TN_NEXT(tn_mse_params_t, recon_zero_point, input_zero_point);
TN_NEXT(tn_mse_params_t, input_zero_point, recon_multiplier);
TN_NEXT(tn_mse_params_t, recon_multiplier, recon_shift);
TN_LAST(tn_mse_params_t, recon_shift);
_Static_assert(sizeof(tn_mse_params_t) == 4 * sizeof(int32_t), "tn_mse_params_t: 4 int32_t");

/* tn_upsample_params_t: ops/kinds/upsample.cpp's up{i}, 4 values. */
TN_FIRST(tn_upsample_params_t, h_in);
TN_NEXT(tn_upsample_params_t, h_in, w_in);
TN_NEXT(tn_upsample_params_t, w_in, c);
TN_NEXT(tn_upsample_params_t, c, factor);
TN_LAST(tn_upsample_params_t, factor);
_Static_assert(sizeof(tn_upsample_params_t) == 4 * sizeof(int32_t), "tn_upsample_params_t: 4 int32_t");

/* ISO C wants at least one declaration. */
typedef int tn_codegen_layout_checked;
