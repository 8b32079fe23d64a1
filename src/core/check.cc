#include "mbrl/core/check.h"

namespace mbrl::detail {

void ThrowCheck(const char* /*file*/, int /*line*/, const std::string& msg) { throw Error(msg); }

}  // namespace mbrl::detail
