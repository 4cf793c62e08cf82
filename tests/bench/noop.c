/* The cheapest experiment there is: read the point (if any), print a
 * result. Used to measure clabfs's overhead per point against a bare
 * fork/exec loop running the same program. */
#include <stdio.h>

int main(void)
{
    char line[4096];
    if (!fgets(line, sizeof line, stdin))
        line[0] = '\0';
    fputs("{\"ok\": 1}\n", stdout);
    return 0;
}
