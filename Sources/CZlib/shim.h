#ifndef CALISD_CZLIB_SHIM_H
#define CALISD_CZLIB_SHIM_H
#include <zlib.h>

// inflateInit2 is a macro; Swift cannot call it directly.
static inline int calisd_inflate_init_gzip(z_streamp stream) {
    return inflateInit2(stream, 15 + 32);
}
#endif
