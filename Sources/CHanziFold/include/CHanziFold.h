#ifndef CALISD_HANZI_FOLD_H
#define CALISD_HANZI_FOLD_H

#include <stdint.h>

/// The simplified form of a traditional Chinese character (Unihan kSimplifiedVariant), or the scalar itself.
uint32_t calisd_hanzi_simplified(uint32_t scalar);

/// How many characters the table folds.
unsigned calisd_hanzi_fold_count(void);

#endif
