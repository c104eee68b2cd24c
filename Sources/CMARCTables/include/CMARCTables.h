#ifndef CALISD_CMARCTABLES_H
#define CALISD_CMARCTABLES_H

// Lookups in the MARC-8 and ISO 5426 code tables generated into the binary (codetables.c).
// A value is a Unicode scalar with bit 31 set for a combining character; 0 means unmapped.

/// The index of the single-byte MARC-8 set whose escape sequence ends in `final`, or -1.
int calisd_marc8_set_index(unsigned char final);
/// A byte in a single-byte set; tables list a set as G0 (21-7E) or G1 (A1-FE), so the other half is tried too.
unsigned int calisd_marc8_single(int set, unsigned char byte);
/// A 24-bit EACC code.
unsigned int calisd_eacc(unsigned int code);
/// How many EACC entries the tables hold.
unsigned int calisd_eacc_entry_count(void);
/// A byte of ISO 5426 (UNIMARC's Latin set; G0 is ASCII).
unsigned int calisd_iso5426(unsigned char byte);

#endif
