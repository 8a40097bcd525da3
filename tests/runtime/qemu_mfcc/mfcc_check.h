#ifndef TN_MFCC_CHECK_H
#define TN_MFCC_CHECK_H
#ifdef __cplusplus
extern "C" {
#endif
/* Runs the clips, writes the report through put; returns the number of failed calls. */
int tn_mfcc_check_run(void (*put)(const char *));
#ifdef __cplusplus
}
#endif
#endif
