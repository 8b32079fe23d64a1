// Compiled by the DependencyRule.* tests (tests/CMakeLists.txt) as a TU of one library that
// includes MBRL_DEPRULE_HEADER: it compiles only if that library may use the header's library.
#include MBRL_DEPRULE_HEADER
