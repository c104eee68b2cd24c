#ifndef CMALLOCCONFIG_H
#define CMALLOCCONFIG_H

/// Sets glibc's malloc to at most `arenas` arenas (mallopt and M_ARENA_MAX are not in Swift's Glibc module).
/// Returns 1 when glibc took it, 0 when it refused.
int calisd_malloc_set_arenas(int arenas);

#endif
