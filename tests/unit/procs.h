/* Process checks shared by the unit tests that spawn children (the
 * runner's and the workers'): header-only, each test is one program. */
#ifndef CLAB_TEST_PROCS_H
#define CLAB_TEST_PROCS_H

#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* Dead, or a zombie waiting for init or someone else: either way no longer
 * running. A group kill is asynchronous, so give it a second. */
static inline int process_gone(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    for (int i = 0; i < 100; i++) {
        FILE *f = fopen(path, "r");
        if (!f)
            return 1;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        if (p && (p[2] == 'Z' || p[2] == 'X'))
            return 1;
        usleep(10000);
    }
    return 0;
}

#endif
