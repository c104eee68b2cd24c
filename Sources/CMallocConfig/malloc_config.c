#include "CMallocConfig.h"
#include <malloc.h>

int calisd_malloc_set_arenas(int arenas) {
    return mallopt(M_ARENA_MAX, arenas);
}
