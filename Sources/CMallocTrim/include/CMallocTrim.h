#ifndef CMALLOCTRIM_H
#define CMALLOCTRIM_H

/// Hands the pages of freed memory in every glibc malloc arena back to the system (malloc_trim, which Swift's
/// Glibc module does not carry), and counts it. Returns 1 when glibc released memory, else 0.
int calisd_malloc_trim(void);

/// Trims so far, and the resident bytes they gave back (the process's RSS before less after, summed).
unsigned long long calisd_malloc_trims(void);
unsigned long long calisd_malloc_trimmed_bytes(void);

#endif
