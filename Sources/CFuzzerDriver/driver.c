// The declaration in include/ is all this target provides; libFuzzer defines the function.
#include "eah_fuzzer_driver.h"
