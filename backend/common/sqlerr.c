/* Mapping SQLite errors to errno values. */
#include "sqlerr.h"
#include "log.h"

#include <errno.h>

int clab_sqlite_errno(sqlite3 *db, const char *who, const char *what)
{
    int code = sqlite3_errcode(db) & 0xff;
    clab_err("%s: %s: %s", who, what, sqlite3_errmsg(db));
    switch (code) {
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
        return -EACCES;
    default:
        return -EIO;
    }
}
