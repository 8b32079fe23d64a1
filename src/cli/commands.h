#pragma once
#include <string>
#include <vector>

namespace mbrl {

/// `mbrl bench <what>`: JSON lines on stdout plus a readable table on stderr.
int Bench(const std::vector<std::string>& args);

}  // namespace mbrl
