#pragma once
/// Error checks that carry the offending values in a one-line message.
#include <sstream>
#include <stdexcept>
#include <string>

namespace at {
class Tensor;
}  // namespace at

namespace mbrl {

/// Any user-facing error: bad config, bad dataset, bad argument. The CLI prints what() on one line.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A NaN or Inf in a loss, a model prediction or an action. The run loop adds the env step and
/// stops the run without checkpointing the poisoned state.
class NonFiniteError : public Error {
 public:
  using Error::Error;
};

/// Throws NonFiniteError("<what> is not finite (n NaN, m Inf of k values)") if `t` has a NaN or
/// Inf. One host sync; call it once per phase, not inside hot loops.
void CheckFinite(const at::Tensor& t, const std::string& what);
/// The same for one number.
void CheckFinite(double v, const std::string& what);

namespace detail {
template <class... Args>
std::string Concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
[[noreturn]] void ThrowCheck(const char* file, int line, const std::string& msg);
}  // namespace detail

}  // namespace mbrl

/// MBRL_CHECK(cond, "population ", n, " < elites ", k) throws mbrl::Error with the message.
#define MBRL_CHECK(cond, ...)                                                              \
  do {                                                                                     \
    if (!(cond))                                                                           \
      ::mbrl::detail::ThrowCheck(__FILE__, __LINE__, ::mbrl::detail::Concat(__VA_ARGS__)); \
  } while (0)
