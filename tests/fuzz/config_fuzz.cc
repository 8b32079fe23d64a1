// libFuzzer target: config files + command-line overrides (see harness.h).
#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mbrl::fuzz::ConfigInput(data, size);
  return 0;
}
