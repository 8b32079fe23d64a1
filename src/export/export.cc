// TorchScript and ONNX writers of a PolicyNet.
#include "mbrl/export/export.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/script.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mbrl/core/check.h"

namespace mbrl {
namespace {

torch::Tensor ToTensor(const RowMatrixXf& m) {
  return torch::from_blob(const_cast<float*>(m.data()), {m.rows(), m.cols()}).clone();
}
torch::Tensor ToTensor(const Eigen::VectorXf& v) {
  return torch::from_blob(const_cast<float*>(v.data()), {v.size()}).clone();
}

void Rename(const std::string& tmp, const std::string& path) {
  MBRL_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, path, ": cannot rename ", tmp);
}

// Appends node `op`(inputs) -> output to the graph.
onnx::NodeProto* AddNode(onnx::GraphProto* g, const std::string& op,
                         std::initializer_list<std::string> inputs, const std::string& output) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(output);
  for (const auto& i : inputs) n->add_input(i);
  n->add_output(output);
  return n;
}

void AddInitializer(onnx::GraphProto* g, const std::string& name, const float* data,
                    std::initializer_list<int64_t> dims) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  int64_t n = 1;
  for (auto d : dims) t->add_dims(d), n *= d;
  t->set_raw_data(std::string(reinterpret_cast<const char*>(data), n * sizeof(float)));
}

void SetMatrixType(onnx::ValueInfoProto* v, const std::string& name, int64_t cols) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("batch");
  tt->mutable_shape()->add_dim()->set_dim_value(cols);
}

}  // namespace

ExportFormat ParseExportFormat(const std::string& name) {
  if (name == "torchscript") return ExportFormat::kTorchScript;
  if (name == "onnx") return ExportFormat::kOnnx;
  if (name == "native") return ExportFormat::kNative;
  throw Error("export: unknown --format '" + name + "' (torchscript, onnx, native)");
}

const char* ExportExtension(ExportFormat format) {
  switch (format) {
    case ExportFormat::kTorchScript:
      return ".pt";
    case ExportFormat::kOnnx:
      return ".onnx";
    case ExportFormat::kNative:
      return ".mbrlp";
  }
  return "";
}

void WriteTorchScript(const PolicyNet& net, const std::string& path) {
  net.Validate(path);
  torch::jit::Module m("MbrlPolicy");
  std::string src = "def forward(self, obs: Tensor) -> Tensor:\n    x = obs\n";
  const size_t last = net.w.size() - 1;
  for (size_t l = 0; l <= last; ++l) {
    const auto i = std::to_string(l);
    m.register_parameter("w" + i, ToTensor(net.w[l]), false);  // [out,in], as torch.linear wants
    m.register_parameter("b" + i, ToTensor(net.b[l]), false);
    src += "    x = torch.linear(x, self.w" + i + ", self.b" + i + ")\n";
    if (l == last) break;
    switch (net.activation) {
      case PolicyNet::Activation::kRelu:
        src += "    x = torch.relu(x)\n";
        break;
      case PolicyNet::Activation::kSilu:
        src += "    x = x * torch.sigmoid(x)\n";
        break;
      case PolicyNet::Activation::kTanh:
        src += "    x = torch.tanh(x)\n";
        break;
    }
  }
  src += "    return torch.tanh(x) * self.act_scale + self.act_shift\n";
  m.register_buffer("act_scale", ToTensor(net.act_scale));
  m.register_buffer("act_shift", ToTensor(net.act_shift));
  m.register_attribute("obs_dim", c10::IntType::get(), int64_t{net.obs_dim});
  m.register_attribute("act_dim", c10::IntType::get(), int64_t{net.act_dim});
  m.define(src);
  WriteScriptModule(m, path);
}

void WriteScriptModule(const torch::jit::Module& m, const std::string& path) {
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir);
  auto copy = m.clone();
  copy.eval();
  copy.save(path + ".tmp");
  Rename(path + ".tmp", path);
}

std::string ScriptChain(const torch::nn::Module& m, const std::string& name, const std::string& var,
                        torch::jit::Module& out) {
  const auto param = [&](const std::string& key, const torch::Tensor& t) {
    const auto attr = name + "_" + key;
    out.register_parameter(attr, t.detach().to(torch::kCPU).clone(), false);
    return "self." + attr;
  };
  std::ostringstream src;
  src.precision(17);
  src << "    " << var << " = ";
  if (const auto* l = dynamic_cast<const torch::nn::LinearImpl*>(&m)) {
    src << "torch.linear(" << var << ", " << param("weight", l->weight);
    if (l->bias.defined()) src << ", " << param("bias", l->bias);
    src << ")\n";
  } else if (const auto* n = dynamic_cast<const torch::nn::LayerNormImpl*>(&m)) {
    MBRL_CHECK(n->options.elementwise_affine(), "export: LayerNorm without affine parameters");
    src << "torch.layer_norm(" << var << ", " << c10::IntArrayRef(n->options.normalized_shape())
        << ", " << param("weight", n->weight) << ", " << param("bias", n->bias) << ", "
        << n->options.eps() << ", False)\n";
  } else if (dynamic_cast<const torch::nn::SiLUImpl*>(&m)) {
    src << var << " * torch.sigmoid(" << var << ")\n";
  } else if (dynamic_cast<const torch::nn::ReLUImpl*>(&m)) {
    src << "torch.relu(" << var << ")\n";
  } else if (dynamic_cast<const torch::nn::TanhImpl*>(&m)) {
    src << "torch.tanh(" << var << ")\n";
  } else {
    MBRL_CHECK(!m.named_parameters(false).size(), "export: cannot script module '", m.name(), "' (",
               name, ")");
    src.str("");
    for (const auto& child : m.named_children())
      src << ScriptChain(*child.value(), name + "_" + child.key(), var, out);
  }
  return src.str();
}

void WriteOnnx(const PolicyNet& net, const std::string& path) {
  net.Validate(path);
  onnx::ModelProto model;
  model.set_ir_version(8);  // the IR version of opset 17
  model.set_producer_name("mbrl");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(17);
  auto* g = model.mutable_graph();
  g->set_name("mbrl_policy");
  SetMatrixType(g->add_input(), "obs", net.obs_dim);
  std::string x = "obs";
  const size_t last = net.w.size() - 1;
  for (size_t l = 0; l <= last; ++l) {
    const auto i = std::to_string(l);
    AddInitializer(g, "w" + i, net.w[l].data(), {net.w[l].rows(), net.w[l].cols()});
    AddInitializer(g, "b" + i, net.b[l].data(), {net.b[l].size()});
    auto* gemm = AddNode(g, "Gemm", {x, "w" + i, "b" + i}, "linear" + i);  // x w^T + b
    auto* trans_b = gemm->add_attribute();
    trans_b->set_name("transB");
    trans_b->set_type(onnx::AttributeProto::INT);
    trans_b->set_i(1);
    x = "linear" + i;
    if (l == last) break;
    switch (net.activation) {
      case PolicyNet::Activation::kRelu:
        AddNode(g, "Relu", {x}, "act" + i);
        break;
      case PolicyNet::Activation::kTanh:
        AddNode(g, "Tanh", {x}, "act" + i);
        break;
      case PolicyNet::Activation::kSilu:  // x * Sigmoid(x)
        AddNode(g, "Sigmoid", {x}, "sigmoid" + i);
        AddNode(g, "Mul", {x, "sigmoid" + i}, "act" + i);
        break;
    }
    x = "act" + i;
  }
  AddInitializer(g, "act_scale", net.act_scale.data(), {net.act_dim});
  AddInitializer(g, "act_shift", net.act_shift.data(), {net.act_dim});
  AddNode(g, "Tanh", {x}, "squashed");
  AddNode(g, "Mul", {"squashed", "act_scale"}, "scaled");
  AddNode(g, "Add", {"scaled", "act_shift"}, "action");
  SetMatrixType(g->add_output(), "action", net.act_dim);
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw Error(path + ": ONNX checker rejected the model: " + e.what());
  }
  {
    std::ofstream f(path + ".tmp", std::ios::binary | std::ios::trunc);
    MBRL_CHECK(f && model.SerializeToOstream(&f) && f.flush(), path, ": write failed");
  }
  Rename(path + ".tmp", path);
}

void WritePolicy(const PolicyNet& net, ExportFormat format, const std::string& path) {
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir);
  switch (format) {
    case ExportFormat::kTorchScript:
      return WriteTorchScript(net, path);
    case ExportFormat::kOnnx:
      return WriteOnnx(net, path);
    case ExportFormat::kNative:
      try {
        return SavePolicy(net, path);
      } catch (const std::runtime_error& e) {
        throw Error(e.what());
      }
  }
}

}  // namespace mbrl
