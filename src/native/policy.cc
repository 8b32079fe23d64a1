// Native policy runtime: file I/O and the forward pass. No LibTorch here (see CMakeLists.txt).
#include "mbrl/native/policy.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "container.h"

namespace mbrl {
namespace {

constexpr char kMagic[8] = {'M', 'B', 'R', 'L', 'P', 'O', 'L', '1'};
constexpr int kVersion = 1;

using native::Fail;

PolicyNet::Activation ParseActivation(const std::string& what, const std::string& s) {
  for (auto a :
       {PolicyNet::Activation::kRelu, PolicyNet::Activation::kSilu, PolicyNet::Activation::kTanh})
    if (s == ActivationName(a)) return a;
  Fail(what, "unknown activation '" + s + "' (relu, silu, tanh)");
}

}  // namespace

const char* ActivationName(PolicyNet::Activation a) {
  switch (a) {
    case PolicyNet::Activation::kRelu:
      return "relu";
    case PolicyNet::Activation::kSilu:
      return "silu";
    case PolicyNet::Activation::kTanh:
      return "tanh";
  }
  return "?";
}

void PolicyNet::Validate(const std::string& what) const {
  if (obs_dim < 1 || act_dim < 1) Fail(what, "obs_dim and act_dim must be >= 1");
  if (w.empty() || w.size() != b.size()) Fail(what, "needs >= 1 layer with one bias each");
  int64_t in = obs_dim;
  for (size_t l = 0; l < w.size(); ++l) {
    const std::string layer = "layer " + std::to_string(l);
    if (w[l].cols() != in)
      Fail(what, layer + " takes " + std::to_string(w[l].cols()) + " inputs, previous gives " +
                     std::to_string(in));
    if (b[l].size() != w[l].rows()) Fail(what, layer + " bias size differs from its outputs");
    if (!w[l].allFinite() || !b[l].allFinite()) Fail(what, layer + " has non-finite weights");
    in = w[l].rows();
  }
  if (in != act_dim)
    Fail(what, "last layer gives " + std::to_string(in) + " outputs, act_dim is " +
                   std::to_string(act_dim));
  if (act_scale.size() != act_dim || act_shift.size() != act_dim)
    Fail(what, "act_scale/act_shift must have act_dim entries");
  if (!act_scale.allFinite() || !act_shift.allFinite()) Fail(what, "non-finite action bounds");
}

void SavePolicy(const PolicyNet& net, const std::string& path) {
  net.Validate(path);
  nlohmann::json layers = nlohmann::json::array();
  std::vector<std::pair<const float*, int64_t>> blobs;
  for (size_t l = 0; l < net.w.size(); ++l) {
    layers.push_back({net.w[l].cols(), net.w[l].rows()});
    blobs.emplace_back(net.w[l].data(), net.w[l].size());
    blobs.emplace_back(net.b[l].data(), net.b[l].size());
  }
  blobs.emplace_back(net.act_scale.data(), net.act_dim);
  blobs.emplace_back(net.act_shift.data(), net.act_dim);
  native::WriteContainer(path, kMagic,
                         {{"format", "mbrl-policy"},
                          {"version", kVersion},
                          {"obs_dim", net.obs_dim},
                          {"act_dim", net.act_dim},
                          {"activation", ActivationName(net.activation)},
                          {"layers", layers}},
                         blobs);
}

PolicyNet LoadPolicy(const std::string& path) {
  native::ContainerReader r(path, kMagic, "mbrl policy");
  const auto& h = r.header();
  PolicyNet net;
  try {
    if (h.at("format") != "mbrl-policy") Fail(path, "header format is not mbrl-policy");
    if (h.at("version").get<int>() != kVersion)
      Fail(path, "version " + h.at("version").dump() + " (this runtime reads 1)");
    net.obs_dim = h.at("obs_dim").get<int>();
    net.act_dim = h.at("act_dim").get<int>();
    net.activation = ParseActivation(path, h.at("activation").get<std::string>());
    for (const auto& l : h.at("layers")) {
      const int64_t in = l.at(0).get<int64_t>(), out = l.at(1).get<int64_t>();
      if (in < 1 || out < 1 || in > (1 << 20) || out > (1 << 20)) Fail(path, "bad layer size");
      net.w.emplace_back(out, in);
      net.b.emplace_back(out);
      r.Take(net.w.back().data(), net.w.back().size(), "weights");
      r.Take(net.b.back().data(), net.b.back().size(), "biases");
    }
  } catch (const nlohmann::json::exception& e) {
    Fail(path, std::string("bad header: ") + e.what());
  }
  if (net.act_dim < 1 || net.act_dim > (1 << 20)) Fail(path, "bad act_dim");
  net.act_scale.resize(net.act_dim);
  net.act_shift.resize(net.act_dim);
  r.Take(net.act_scale.data(), net.act_dim, "act_scale");
  r.Take(net.act_shift.data(), net.act_dim, "act_shift");
  r.Finish();
  net.Validate(path);
  return net;
}

NativePolicy::NativePolicy(PolicyNet net) : net_(std::move(net)) {
  net_.Validate("policy");
  for (const auto& b : net_.b) h_.emplace_back(b.size());
}

void NativePolicy::Act(const float* obs, float* action) {
  Eigen::Map<const Eigen::VectorXf> x(obs, net_.obs_dim);
  const size_t last = net_.w.size() - 1;
  for (size_t l = 0; l <= last; ++l) {
    auto& h = h_[l];
    if (l == 0)
      h.noalias() = net_.w[0] * x;
    else
      h.noalias() = net_.w[l] * h_[l - 1];
    h += net_.b[l];
    if (l == last) break;
    switch (net_.activation) {
      case PolicyNet::Activation::kRelu:
        h = h.cwiseMax(0.f);
        break;
      case PolicyNet::Activation::kSilu:
        h = h.array() / (1.f + (-h.array()).exp());
        break;
      case PolicyNet::Activation::kTanh:
        h = h.array().tanh();
        break;
    }
  }
  Eigen::Map<Eigen::VectorXf> a(action, net_.act_dim);
  a = net_.act_scale.array() * h_[last].array().tanh() + net_.act_shift.array();
}

RowMatrixXf NativePolicy::ActBatch(const RowMatrixXf& obs) {
  if (obs.cols() != net_.obs_dim)
    throw std::runtime_error("policy: obs has " + std::to_string(obs.cols()) + " columns, needs " +
                             std::to_string(net_.obs_dim));
  RowMatrixXf out(obs.rows(), net_.act_dim);
  for (int64_t i = 0; i < obs.rows(); ++i) Act(obs.row(i).data(), out.row(i).data());
  return out;
}

}  // namespace mbrl
