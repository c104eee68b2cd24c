// The generated arrays, shared between codetables.c and lookup.c only.
#define CALISD_MARC8_SINGLE_SETS 11
extern const unsigned int calisd_marc8_single_finals[CALISD_MARC8_SINGLE_SETS];
extern const unsigned int calisd_marc8_single_table[CALISD_MARC8_SINGLE_SETS][256];
extern const unsigned int calisd_iso5426_table[256];
extern const unsigned int calisd_eacc_count;
extern const unsigned int calisd_eacc_codes[];
extern const unsigned int calisd_eacc_values[];
