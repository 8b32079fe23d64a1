// Policy programs (recurrent or stateless): validation, file I/O and the native interpreter.
#include "mbrl/native/program.h"

#include <cctype>
#include <cmath>
#include <iterator>
#include <map>
#include <stdexcept>

#include "container.h"

namespace mbrl {
namespace {

using native::Fail;

constexpr char kMagic[8] = {'M', 'B', 'R', 'L', 'R', 'E', 'C', '1'};
constexpr int kVersion = 1;

enum Code {
  kLinear,
  kLayerNorm,
  kSilu,
  kRelu,
  kTanh,
  kSigmoid,
  kSymlog,
  kAdd,
  kSub,
  kMul,
  kAffine,
  kConcat,
  kSlice,
  kOneHot,
  kMish,
  kSimNorm
};
struct OpInfo {
  const char* name;
  int inputs;  // -1: one or more
  int params;
  int ints;
};
constexpr OpInfo kOps[] = {
    {"linear", 1, 2, 0}, {"layernorm", 1, 2, 0},     {"silu", 1, 0, 0},   {"relu", 1, 0, 0},
    {"tanh", 1, 0, 0},   {"sigmoid", 1, 0, 0},       {"symlog", 1, 0, 0}, {"add", 2, 0, 0},
    {"sub", 2, 0, 0},    {"mul", 2, 0, 0},           {"affine", 1, 2, 0}, {"concat", -1, 0, 0},
    {"slice", 1, 0, 2},  {"onehot_argmax", 1, 0, 1}, {"mish", 1, 0, 0},   {"simnorm", 1, 0, 1}};

int CodeOf(const std::string& op) {
  for (int c = 0; c < static_cast<int>(std::size(kOps)); ++c)
    if (op == kOps[c].name) return c;
  return -1;
}

bool Identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (unsigned char c : s)
    if (!std::isalnum(c) && c != '_') return false;
  return true;
}

}  // namespace

const std::string& PolicyProgram::Add(ProgramOp op) {
  ops.push_back(std::move(op));
  return ops.back().out;
}

std::vector<int64_t> PolicyProgram::Validate(const std::string& what) const {
  if (obs_dim < 1 || act_dim < 1 || state_dim < 0)
    Fail(what, "obs_dim and act_dim must be >= 1, state_dim >= 0");
  std::map<std::string, int64_t> size = {{"obs", obs_dim}};
  if (state_dim > 0) size["state"] = state_dim;
  std::vector<int64_t> out_size;
  for (size_t i = 0; i < ops.size(); ++i) {
    const ProgramOp& o = ops[i];
    const auto fail = [&](const std::string& msg) {
      Fail(what, "op " + std::to_string(i) + " (" + o.op + " -> " + o.out + "): " + msg);
    };
    const int code = CodeOf(o.op);
    if (code < 0) fail("unknown op");
    const OpInfo& info = kOps[code];
    if (info.inputs >= 0 ? static_cast<int>(o.in.size()) != info.inputs : o.in.empty())
      fail("wrong number of inputs");
    if (static_cast<int>(o.params.size()) != info.params) fail("wrong number of parameters");
    if (static_cast<int>(o.ints.size()) != info.ints) fail("wrong number of integer arguments");
    if (!Identifier(o.out) || o.out == "obs" || o.out == "state") fail("bad output name");
    std::vector<int64_t> in;
    for (const auto& name : o.in) {
      const auto it = size.find(name);
      if (it == size.end()) fail("reads '" + name + "' before it is set");
      in.push_back(it->second);
    }
    for (const auto& p : o.params)
      if (!p.allFinite()) fail("non-finite parameters");
    const auto vec = [&](const RowMatrixXf& p, int64_t k) {
      return p.rows() == 1 && p.cols() == k;
    };
    int64_t n = in.empty() ? 0 : in[0];
    switch (code) {
      case kLinear:
        if (o.params[0].cols() != in[0] || !vec(o.params[1], o.params[0].rows()))
          fail("weight [out,in] and bias [1,out] do not match the input");
        n = o.params[0].rows();
        break;
      case kLayerNorm:
        if (!(o.eps > 0)) fail("eps must be > 0");
        [[fallthrough]];
      case kAffine:
        if (!vec(o.params[0], n) || !vec(o.params[1], n)) fail("parameters must be [1,k]");
        break;
      case kAdd:
      case kSub:
      case kMul:
        if (in[0] != in[1]) fail("inputs differ in size");
        break;
      case kConcat:
        n = 0;
        for (auto k : in) n += k;
        break;
      case kSlice:
        if (o.ints[0] < 0 || o.ints[1] < 1 || o.ints[0] + o.ints[1] > n) fail("slice out of range");
        n = o.ints[1];
        break;
      case kOneHot:
        if (o.ints[0] < 1 || n % o.ints[0] != 0) fail("size not divisible by the groups");
        break;
      case kSimNorm:
        if (o.ints[0] < 1 || n % o.ints[0] != 0) fail("size not divisible by the group size");
        break;
      default:
        break;
    }
    size[o.out] = n;
    out_size.push_back(n);
  }
  const auto check_out = [&](const char* name, int64_t n) {
    const auto it = size.find(name);
    if (it == size.end() || it->second != n)
      Fail(what, std::string("the program must set '") + name + "' of size " + std::to_string(n));
  };
  check_out("action", act_dim);
  if (state_dim > 0) check_out("next_state", state_dim);
  return out_size;
}

void SaveProgram(const PolicyProgram& p, const std::string& path) {
  p.Validate(path);
  nlohmann::json ops = nlohmann::json::array();
  std::vector<std::pair<const float*, int64_t>> blobs;
  for (const auto& o : p.ops) {
    nlohmann::json params = nlohmann::json::array();
    for (const auto& m : o.params) {
      params.push_back({m.rows(), m.cols()});
      blobs.emplace_back(m.data(), m.size());
    }
    ops.push_back(
        {{"op", o.op}, {"in", o.in}, {"out", o.out}, {"params", params}, {"ints", o.ints}});
    if (o.op == "layernorm") ops.back()["eps"] = o.eps;
  }
  native::WriteContainer(path, kMagic,
                         {{"format", "mbrl-recurrent-policy"},
                          {"version", kVersion},
                          {"obs_dim", p.obs_dim},
                          {"act_dim", p.act_dim},
                          {"state_dim", p.state_dim},
                          {"ops", ops}},
                         blobs);
}

PolicyProgram LoadProgram(const std::string& path) {
  native::ContainerReader r(path, kMagic, "mbrl recurrent policy");
  const auto& h = r.header();
  PolicyProgram p;
  try {
    if (h.at("format") != "mbrl-recurrent-policy")
      Fail(path, "header format is not mbrl-recurrent-policy");
    if (h.at("version").get<int>() != kVersion)
      Fail(path, "version " + h.at("version").dump() + " (this runtime reads 1)");
    p.obs_dim = h.at("obs_dim").get<int>();
    p.act_dim = h.at("act_dim").get<int>();
    p.state_dim = h.at("state_dim").get<int>();
    for (const auto& j : h.at("ops")) {
      ProgramOp o;
      o.op = j.at("op").get<std::string>();
      o.in = j.at("in").get<std::vector<std::string>>();
      o.out = j.at("out").get<std::string>();
      o.ints = j.at("ints").get<std::vector<int64_t>>();
      if (j.contains("eps")) o.eps = j.at("eps").get<float>();
      for (const auto& shape : j.at("params")) {
        const int64_t rows = shape.at(0).get<int64_t>(), cols = shape.at(1).get<int64_t>();
        if (rows < 1 || cols < 1 || rows > (1 << 20) || cols > (1 << 20))
          Fail(path, "bad parameter shape in op '" + o.op + "'");
        if (rows * cols > r.FloatsLeft()) Fail(path, "truncated (reading parameters)");
        o.params.emplace_back(rows, cols);
        r.Take(o.params.back().data(), rows * cols, "parameters");
      }
      p.ops.push_back(std::move(o));
    }
  } catch (const nlohmann::json::exception& e) {
    Fail(path, std::string("bad header: ") + e.what());
  }
  r.Finish();
  p.Validate(path);
  return p;
}

NativeRecurrentPolicy::NativeRecurrentPolicy(PolicyProgram p) : program_(std::move(p)) {
  const auto sizes = program_.Validate("policy program");
  obs_.resize(program_.obs_dim);
  state_.resize(program_.state_dim);
  std::map<std::string, const Eigen::VectorXf*> reg = {{"obs", &obs_}, {"state", &state_}};
  value_.reserve(sizes.size());  // no reallocation: pointers into value_ stay valid
  for (size_t i = 0; i < sizes.size(); ++i) {
    const ProgramOp& o = program_.ops[i];
    value_.emplace_back(sizes[i]);
    code_.push_back(CodeOf(o.op));
    args_.emplace_back();
    for (const auto& name : o.in) args_.back().push_back(reg.at(name));
    reg[o.out] = &value_.back();
  }
  action_ = reg.at("action");
  if (program_.state_dim > 0) next_state_ = reg.at("next_state");
}

void NativeRecurrentPolicy::Act(const float* obs, float* state, float* action) {
  obs_ = Eigen::Map<const Eigen::VectorXf>(obs, program_.obs_dim);
  if (next_state_) state_ = Eigen::Map<const Eigen::VectorXf>(state, program_.state_dim);
  for (size_t i = 0; i < value_.size(); ++i) {
    const ProgramOp& o = program_.ops[i];
    Eigen::VectorXf& v = value_[i];
    const auto& x = *args_[i][0];
    switch (code_[i]) {
      case kLinear:
        v.noalias() = o.params[0] * x;
        v += o.params[1].row(0).transpose();
        break;
      case kLayerNorm: {
        const float mean = x.mean();
        const float var = (x.array() - mean).square().mean();
        v = (x.array() - mean) / std::sqrt(var + o.eps) * o.params[0].row(0).transpose().array() +
            o.params[1].row(0).transpose().array();
        break;
      }
      case kSilu:
        v = x.array() / (1.f + (-x.array()).exp());
        break;
      case kRelu:
        v = x.cwiseMax(0.f);
        break;
      case kTanh:
        v = x.array().tanh();
        break;
      case kSigmoid:
        v = 1.f / (1.f + (-x.array()).exp());
        break;
      case kSymlog:
        v = x.array().sign() * x.array().abs().log1p();
        break;
      case kAdd:
        v = x + *args_[i][1];
        break;
      case kSub:
        v = x - *args_[i][1];
        break;
      case kMul:
        v = x.cwiseProduct(*args_[i][1]);
        break;
      case kAffine:
        v = x.array() * o.params[0].row(0).transpose().array() +
            o.params[1].row(0).transpose().array();
        break;
      case kConcat: {
        int64_t at = 0;
        for (const auto* a : args_[i]) v.segment(at, a->size()) = *a, at += a->size();
        break;
      }
      case kSlice:
        v = x.segment(o.ints[0], o.ints[1]);
        break;
      case kOneHot: {
        const int64_t k = x.size() / o.ints[0];
        v.setZero();
        for (int64_t g = 0; g < o.ints[0]; ++g) {
          Eigen::Index best = 0;
          x.segment(g * k, k).maxCoeff(&best);  // the first maximum, as torch.argmax
          v[g * k + best] = 1.f;
        }
        break;
      }
      case kMish:  // x tanh(softplus(x)); softplus(x) = x above 20, as torch's
        v = x.unaryExpr(
            [](float a) { return a * std::tanh(a > 20.f ? a : std::log1p(std::exp(a))); });
        break;
      case kSimNorm: {  // softmax over each group of ints[0] entries
        const int64_t k = o.ints[0];
        for (int64_t g = 0; g < x.size() / k; ++g) {
          const auto seg = x.segment(g * k, k);
          auto out = v.segment(g * k, k);
          out = (seg.array() - seg.maxCoeff()).exp();
          out /= out.sum();
        }
        break;
      }
    }
  }
  Eigen::Map<Eigen::VectorXf>(action, program_.act_dim) = *action_;
  if (next_state_) Eigen::Map<Eigen::VectorXf>(state, program_.state_dim) = *next_state_;
}

}  // namespace mbrl
