/* mark — the program-side snapshot marker of `leakdiff record`.
 *
 * Under `leakdiff record -- PROGRAM`, memkit_snapshot(label) writes an `@`
 * snapshot marker into the heap trace: the heap as it is at that point,
 * named by label. The function lives in the recorder's preload library, not
 * in libmemkit, and is declared weak here, so a program that includes this
 * header links and runs unchanged without the recorder: the address is then
 * null. Always call it through the test:
 *
 *     #include <memkit/mark.h>
 *
 *     load_config();
 *     if (memkit_snapshot)
 *         memkit_snapshot("after config");
 *
 * Thread-safe; the label is copied (at most about 4 KiB of it is kept). */
#ifndef MK_MARK_H
#define MK_MARK_H

void memkit_snapshot(const char *label) __attribute__((weak));

#endif
