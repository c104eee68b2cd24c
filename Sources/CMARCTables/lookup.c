#include "CMARCTables.h"
#include "tables.h"

int calisd_marc8_set_index(unsigned char final) {
    for (int index = 0; index < CALISD_MARC8_SINGLE_SETS; index++) {
        if (calisd_marc8_single_finals[index] == final) return index;
    }
    return -1;
}

unsigned int calisd_marc8_single(int set, unsigned char byte) {
    if (set < 0 || set >= CALISD_MARC8_SINGLE_SETS) return 0;
    unsigned int value = calisd_marc8_single_table[set][byte];
    if (value != 0) return value;
    return calisd_marc8_single_table[set][byte ^ 0x80];
}

unsigned int calisd_eacc(unsigned int code) {
    unsigned int low = 0, high = calisd_eacc_count;
    while (low < high) {
        unsigned int middle = low + (high - low) / 2;
        unsigned int candidate = calisd_eacc_codes[middle];
        if (candidate == code) return calisd_eacc_values[middle];
        if (candidate < code) low = middle + 1; else high = middle;
    }
    return 0;
}

unsigned int calisd_eacc_entry_count(void) { return calisd_eacc_count; }

unsigned int calisd_iso5426(unsigned char byte) { return calisd_iso5426_table[byte]; }
