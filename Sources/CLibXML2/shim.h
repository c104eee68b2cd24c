#ifndef CALISD_CLIBXML2_SHIM_H
#define CALISD_CLIBXML2_SHIM_H
// Debian's libxml2 headers pull in system ICU, which clashes with Foundation's copy.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/xmlreader.h>
#include <libxml/xmlerror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

static void calisd_xml_ignore(void *context, const char *message, ...) {
    (void)context;
    (void)message;
}

// libxml2 prints some errors (encoding failures) through its per-thread generic handler, straight to stderr;
// the reader reports them itself. The handler is variadic, which Swift cannot write.
static inline void calisd_xml_silence_generic_errors(void) {
    xmlSetGenericErrorFunc(NULL, calisd_xml_ignore);
}
#endif
