#include "CSQLiteConfig.h"
#include <sqlite3.h>

int calisd_sqlite_configure(void) {
    // Multi-thread mode: GRDB hands each connection to one thread at a time, so SQLite's per-connection
    // mutexes only cost. No memory statistics: they take a global mutex on every allocation.
    int status = sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    if (status != SQLITE_OK) return status;
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
