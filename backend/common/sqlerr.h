/* SQLite's result codes as the errno values clabfs reports, shared by the
 * controller's store and the notebook so that a full disk is ENOSPC
 * everywhere. */
#ifndef CLAB_SQLERR_H
#define CLAB_SQLERR_H

#include <sqlite3.h>

/* Logs "WHO: WHAT: sqlite's message" and returns -errno for db's last error. */
int clab_sqlite_errno(sqlite3 *db, const char *who, const char *what);

#endif
