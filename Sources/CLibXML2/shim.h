#ifndef CALISD_CLIBXML2_SHIM_H
#define CALISD_CLIBXML2_SHIM_H
// Debian's libxml2 headers pull in system ICU, which clashes with Foundation's copy.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/xmlreader.h>
#include <libxml/xmlerror.h>
#endif
