#ifndef CSQLITECONFIG_H
#define CSQLITECONFIG_H

/// Process-wide SQLite settings, made before the first connection opens (sqlite3_config is variadic, which
/// Swift cannot call). Returns SQLITE_OK, or SQLITE_MISUSE when SQLite was already initialised.
int calisd_sqlite_configure(void);

#endif
