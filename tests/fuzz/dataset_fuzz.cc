// libFuzzer target: dataset loading (see harness.h).
#include "tests/fuzz/harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mbrl::fuzz::DatasetInput(data, size);
  return 0;
}
