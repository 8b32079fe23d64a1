#pragma once
/// A deployable policy without LibTorch: a straight-line program of small ops over named
/// vectors, with inputs "obs" [O] and "state" [N] and outputs "action" [A] and "next_state" [N]
/// (N = 0: stateless, no state in or out). Dreamer's RSSM posterior step + actor is a recurrent
/// one, TD-MPC2's encoder + policy prior a stateless one; `mbrl export` writes the same program
/// as TorchScript, ONNX or this runtime's file. Format: docs/formats.md ("Recurrent").
#include <Eigen/Core>
#include <string>
#include <vector>

#include "mbrl/native/policy.h"

namespace mbrl {

/// One op: out = op(in...). Registers are names; a name may be reassigned (later ops read the
/// latest value). Ops and their inputs, parameters and integer arguments:
///   linear(x) w [out,in], b [out]        layernorm(x) w [k], b [k], eps
///   silu | relu | tanh | sigmoid | symlog (x)          add | sub | mul (x, y)  same size
///   affine(x) scale [k], shift [k]: x*scale + shift    concat(x, y, ...)
///   slice(x) ints {start, len}                         onehot_argmax(x) ints {groups}: per group
///   mish(x): x tanh(softplus(x))                       of k/groups, 1 at the first maximum
///   simnorm(x) ints {group}: softmax over each group of `group` consecutive entries
struct ProgramOp {
  std::string op;
  std::vector<std::string> in;
  std::string out;
  std::vector<int64_t> ints;
  float eps = 0;
  std::vector<RowMatrixXf> params;  // each [rows, cols]; vectors are [1, k]
};

struct PolicyProgram {
  int obs_dim = 0, act_dim = 0, state_dim = 0;
  std::vector<ProgramOp> ops;

  /// Appends an op and returns `out`.
  const std::string& Add(ProgramOp op);
  /// Checks ops, names and shapes; returns each op's output size. Throws std::runtime_error
  /// naming `what` and the op.
  std::vector<int64_t> Validate(const std::string& what) const;
};

/// Writes `p` to `path` (temporary file + rename).
void SaveProgram(const PolicyProgram& p, const std::string& path);
/// Reads and validates a program file; errors name the file and what is wrong.
PolicyProgram LoadProgram(const std::string& path);

/// Runs a program with preallocated buffers; one instance per thread.
class NativeRecurrentPolicy {
 public:
  explicit NativeRecurrentPolicy(PolicyProgram p);
  static NativeRecurrentPolicy Load(const std::string& path) {
    return NativeRecurrentPolicy(LoadProgram(path));
  }

  /// The state at an episode start (zeros) [N].
  Eigen::VectorXf InitialState() const { return Eigen::VectorXf::Zero(program_.state_dim); }
  /// obs [O], state [N] -> action [A]; `state` is replaced by the next state (unused when
  /// N = 0). Allocates nothing.
  void Act(const float* obs, float* state, float* action);

  const PolicyProgram& program() const { return program_; }

 private:
  PolicyProgram program_;
  std::vector<Eigen::VectorXf> value_;  // per op output
  std::vector<std::vector<const Eigen::VectorXf*>> args_;
  std::vector<int> code_;
  Eigen::VectorXf obs_, state_;
  const Eigen::VectorXf *action_ = nullptr, *next_state_ = nullptr;
};

}  // namespace mbrl
