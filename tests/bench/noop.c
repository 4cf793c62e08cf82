/* The cheapest experiment there is: read the point (if any), print a
 * result. Used to measure clabfs's overhead per point against a bare
 * fork/exec loop running the same program. As a worker (CLAB_WORKER=1,
 * worker mode) it answers one line per point until stdin ends. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    char line[4096];
    int worker = getenv("CLAB_WORKER") != NULL;
    do {
        if (!fgets(line, sizeof line, stdin)) {
            if (worker)
                return 0;
            line[0] = '\0';
        }
        fputs("{\"ok\": 1}\n", stdout);
        fflush(stdout);
    } while (worker);
    return 0;
}
