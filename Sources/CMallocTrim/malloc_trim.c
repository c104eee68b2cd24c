#include "CMallocTrim.h"
#include <fcntl.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static atomic_ullong trims;
static atomic_ullong trimmed_bytes;

/// The process's resident bytes (/proc/self/statm's second field), or 0 when it cannot be read.
static unsigned long long resident_bytes(void) {
    char text[128];
    int descriptor = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (descriptor < 0) return 0;
    ssize_t length = read(descriptor, text, sizeof text - 1);
    close(descriptor);
    if (length <= 0) return 0;
    text[length] = 0;
    unsigned long long size = 0, resident = 0;
    if (sscanf(text, "%llu %llu", &size, &resident) != 2) return 0;
    return resident * (unsigned long long)sysconf(_SC_PAGESIZE);
}

int calisd_malloc_trim(void) {
    unsigned long long before = resident_bytes();
    int released = malloc_trim(0);
    unsigned long long after = resident_bytes();
    atomic_fetch_add(&trims, 1);
    if (before > after) atomic_fetch_add(&trimmed_bytes, before - after);
    return released;
}

unsigned long long calisd_malloc_trims(void) { return atomic_load(&trims); }
unsigned long long calisd_malloc_trimmed_bytes(void) { return atomic_load(&trimmed_bytes); }
