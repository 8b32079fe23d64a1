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
#include <map>
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

void SaveScript(torch::jit::Module& m, const std::string& path) {
  m.eval();
  m.save(path + ".tmp");
  Rename(path + ".tmp", path);
}

void SaveOnnx(const onnx::ModelProto& model, const std::string& path) {
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

onnx::GraphProto* NewOnnxModel(onnx::ModelProto* model, const std::string& name) {
  model->set_ir_version(8);  // the IR version of opset 17
  model->set_producer_name("mbrl");
  auto* opset = model->add_opset_import();
  opset->set_domain("");
  opset->set_version(17);
  auto* g = model->mutable_graph();
  g->set_name(name);
  return g;
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

void SetAttr(onnx::NodeProto* n, const std::string& name, int64_t value) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

void AddInt64s(onnx::GraphProto* g, const std::string& name, std::vector<int64_t> values) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  for (auto v : values) t->add_int64_data(v);
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

const char* ExportExtension(ExportFormat format, bool program) {
  switch (format) {
    case ExportFormat::kTorchScript:
      return ".pt";
    case ExportFormat::kOnnx:
      return ".onnx";
    case ExportFormat::kNative:
      return program ? ".mbrlr" : ".mbrlp";
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
  SaveScript(m, path);
}

void WriteOnnx(const PolicyNet& net, const std::string& path) {
  net.Validate(path);
  onnx::ModelProto model;
  auto* g = NewOnnxModel(&model, "mbrl_policy");
  SetMatrixType(g->add_input(), "obs", net.obs_dim);
  std::string x = "obs";
  const size_t last = net.w.size() - 1;
  for (size_t l = 0; l <= last; ++l) {
    const auto i = std::to_string(l);
    AddInitializer(g, "w" + i, net.w[l].data(), {net.w[l].rows(), net.w[l].cols()});
    AddInitializer(g, "b" + i, net.b[l].data(), {net.b[l].size()});
    SetAttr(AddNode(g, "Gemm", {x, "w" + i, "b" + i}, "linear" + i), "transB", 1);  // x w^T + b
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
  SaveOnnx(model, path);
}

RowMatrixXf ToMatrix(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  const int64_t rows = c.dim() == 2 ? c.size(0) : 1;
  RowMatrixXf m(rows, c.numel() / rows);
  std::copy(c.data_ptr<float>(), c.data_ptr<float>() + c.numel(), m.data());
  return m;
}

void AppendChain(const torch::nn::Module& m, const std::string& reg, PolicyProgram* p) {
  const auto unary = [&](const char* op) { p->Add({op, {reg}, reg, {}, 0, {}}); };
  if (const auto* l = dynamic_cast<const torch::nn::LinearImpl*>(&m)) {
    const auto bias = l->bias.defined() ? l->bias : torch::zeros({l->weight.size(0)});
    p->Add({"linear", {reg}, reg, {}, 0, {ToMatrix(l->weight), ToMatrix(bias)}});
  } else if (const auto* n = dynamic_cast<const torch::nn::LayerNormImpl*>(&m)) {
    MBRL_CHECK(n->options.elementwise_affine(), "export: LayerNorm without affine parameters");
    MBRL_CHECK(n->options.normalized_shape().size() == 1, "export: LayerNorm over several dims");
    p->Add({"layernorm",
            {reg},
            reg,
            {},
            static_cast<float>(n->options.eps()),
            {ToMatrix(n->weight), ToMatrix(n->bias)}});
  } else if (dynamic_cast<const torch::nn::SiLUImpl*>(&m)) {
    unary("silu");
  } else if (dynamic_cast<const torch::nn::ReLUImpl*>(&m)) {
    unary("relu");
  } else if (dynamic_cast<const torch::nn::TanhImpl*>(&m)) {
    unary("tanh");
  } else {
    MBRL_CHECK(!m.named_parameters(false).size(), "export: cannot convert module '", m.name(),
               "' (", reg, ")");
    for (const auto& child : m.named_children()) AppendChain(*child.value(), reg, p);
  }
}

namespace {

void WriteProgramScript(const PolicyProgram& p, const std::string& path) {
  const auto sizes = p.Validate(path);
  const bool recurrent = p.state_dim > 0;
  torch::jit::Module m(recurrent ? "MbrlRecurrentPolicy" : "MbrlPolicy");
  std::ostringstream src;
  src.precision(17);
  if (recurrent)
    src << "def initial_state(self, batch: int) -> Tensor:\n"
        << "    return torch.zeros([batch, " << p.state_dim << "])\n"
        << "def forward(self, v_obs: Tensor, v_state: Tensor) -> Tuple[Tensor, Tensor]:\n";
  else
    src << "def forward(self, v_obs: Tensor) -> Tensor:\n";
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const ProgramOp& o = p.ops[i];
    std::vector<std::string> w;
    for (size_t k = 0; k < o.params.size(); ++k) {
      const auto name = "p" + std::to_string(i) + "_" + std::to_string(k);
      auto t = torch::from_blob(const_cast<float*>(o.params[k].data()),
                                {o.params[k].rows(), o.params[k].cols()})
                   .clone();
      m.register_parameter(name, o.op == "linear" && k == 0 ? t : t.view(-1), false);
      w.push_back("self." + name);
    }
    const auto x = "v_" + (o.in.empty() ? std::string() : o.in[0]);
    const auto y = o.in.size() > 1 ? "v_" + o.in[1] : std::string();
    src << "    v_" << o.out << " = ";
    if (o.op == "linear") {
      src << "torch.linear(" << x << ", " << w[0] << ", " << w[1] << ")";
    } else if (o.op == "layernorm") {
      src << "torch.layer_norm(" << x << ", [" << o.params[0].cols() << "], " << w[0] << ", "
          << w[1] << ", " << o.eps << ", False)";
    } else if (o.op == "silu") {
      src << x << " * torch.sigmoid(" << x << ")";
    } else if (o.op == "mish") {
      src << x << " * torch.tanh(torch.where(" << x << " > 20.0, " << x
          << ", torch.log1p(torch.exp(" << x << "))))";
    } else if (o.op == "simnorm") {
      src << "torch.softmax(" << x << ".view([-1, " << sizes[i] / o.ints[0] << ", " << o.ints[0]
          << "]), -1).view([-1, " << sizes[i] << "])";
    } else if (o.op == "symlog") {
      src << "torch.sign(" << x << ") * torch.log1p(torch.abs(" << x << "))";
    } else if (o.op == "relu" || o.op == "tanh" || o.op == "sigmoid") {
      src << "torch." << o.op << "(" << x << ")";
    } else if (o.op == "add" || o.op == "sub" || o.op == "mul") {
      src << x << (o.op == "add" ? " + " : o.op == "sub" ? " - " : " * ") << y;
    } else if (o.op == "affine") {
      src << x << " * " << w[0] << " + " << w[1];
    } else if (o.op == "concat") {
      src << "torch.cat([";
      for (size_t k = 0; k < o.in.size(); ++k) src << (k ? ", v_" : "v_") << o.in[k];
      src << "], -1)";
    } else if (o.op == "slice") {
      src << x << "[:, " << o.ints[0] << ":" << o.ints[0] + o.ints[1] << "]";
    } else {  // onehot_argmax
      const auto grouped = x + ".view([-1, " + std::to_string(o.ints[0]) + ", " +
                           std::to_string(sizes[i] / o.ints[0]) + "])";
      src << "torch.zeros_like(" << grouped << ").scatter_(-1, torch.argmax(" << grouped
          << ", -1, True), 1.0).view([-1, " << sizes[i] << "])";
    }
    src << "\n";
  }
  src << (recurrent ? "    return v_action, v_next_state\n" : "    return v_action\n");
  m.register_attribute("obs_dim", c10::IntType::get(), int64_t{p.obs_dim});
  m.register_attribute("act_dim", c10::IntType::get(), int64_t{p.act_dim});
  m.register_attribute("state_dim", c10::IntType::get(), int64_t{p.state_dim});
  m.define(src.str());
  SaveScript(m, path);
}

void WriteProgramOnnx(const PolicyProgram& p, const std::string& path) {
  onnx::ModelProto model;
  auto* g = NewOnnxModel(&model, "mbrl_recurrent_policy");
  const bool recurrent = p.state_dim > 0;
  SetMatrixType(g->add_input(), "obs", p.obs_dim);
  if (recurrent) SetMatrixType(g->add_input(), "state", p.state_dim);
  const auto sizes = p.Validate(path);
  std::map<std::string, std::string> name = {{"obs", "obs"},
                                             {"state", "state"}};  // state: if N > 0
  std::map<std::string, int64_t> size = {{"obs", p.obs_dim}, {"state", p.state_dim}};
  AddInitializer(g, "one", std::vector<float>{1.f}.data(), {});
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const ProgramOp& o = p.ops[i];
    const auto tag = "op" + std::to_string(i) + "_";
    const auto out = tag + o.out;
    std::vector<std::string> w;
    for (size_t k = 0; k < o.params.size(); ++k) {
      w.push_back(tag + "p" + std::to_string(k));
      const auto& m = o.params[k];
      if (o.op == "linear" && k == 0)
        AddInitializer(g, w.back(), m.data(), {m.rows(), m.cols()});
      else
        AddInitializer(g, w.back(), m.data(), {m.size()});
    }
    const auto x = o.in.empty() ? std::string() : name.at(o.in[0]);
    const auto y = o.in.size() > 1 ? name.at(o.in[1]) : std::string();
    if (o.op == "linear") {
      SetAttr(AddNode(g, "Gemm", {x, w[0], w[1]}, out), "transB", 1);
    } else if (o.op == "layernorm") {
      auto* n = AddNode(g, "LayerNormalization", {x, w[0], w[1]}, out);
      SetAttr(n, "axis", -1);
      auto* eps = n->add_attribute();
      eps->set_name("epsilon");
      eps->set_type(onnx::AttributeProto::FLOAT);
      eps->set_f(o.eps);
    } else if (o.op == "silu") {
      AddNode(g, "Sigmoid", {x}, tag + "sigmoid");
      AddNode(g, "Mul", {x, tag + "sigmoid"}, out);
    } else if (o.op == "mish") {  // x tanh(softplus(x)); opset 17 has no Mish
      AddNode(g, "Softplus", {x}, tag + "softplus");
      AddNode(g, "Tanh", {tag + "softplus"}, tag + "tanh");
      AddNode(g, "Mul", {x, tag + "tanh"}, out);
    } else if (o.op == "simnorm") {  // reshape [B,G,k], softmax over k, reshape back
      const int64_t k = o.ints[0], n = size.at(o.in[0]);
      AddInt64s(g, tag + "grouped", {-1, n / k, k});
      AddInt64s(g, tag + "flat", {-1, n});
      AddNode(g, "Reshape", {x, tag + "grouped"}, tag + "logits");
      SetAttr(AddNode(g, "Softmax", {tag + "logits"}, tag + "softmax"), "axis", -1);
      AddNode(g, "Reshape", {tag + "softmax", tag + "flat"}, out);
    } else if (o.op == "symlog") {  // sign(x) log(1 + |x|)
      AddNode(g, "Abs", {x}, tag + "abs");
      AddNode(g, "Add", {tag + "abs", "one"}, tag + "abs1");
      AddNode(g, "Log", {tag + "abs1"}, tag + "log");
      AddNode(g, "Sign", {x}, tag + "sign");
      AddNode(g, "Mul", {tag + "sign", tag + "log"}, out);
    } else if (o.op == "relu" || o.op == "tanh" || o.op == "sigmoid") {
      const std::string op = o.op == "relu" ? "Relu" : o.op == "tanh" ? "Tanh" : "Sigmoid";
      AddNode(g, op, {x}, out);
    } else if (o.op == "add" || o.op == "sub" || o.op == "mul") {
      AddNode(g, o.op == "add" ? "Add" : o.op == "sub" ? "Sub" : "Mul", {x, y}, out);
    } else if (o.op == "affine") {
      AddNode(g, "Mul", {x, w[0]}, tag + "scaled");
      AddNode(g, "Add", {tag + "scaled", w[1]}, out);
    } else if (o.op == "concat") {
      auto* n = AddNode(g, "Concat", {}, out);
      for (const auto& in : o.in) n->add_input(name.at(in));
      SetAttr(n, "axis", 1);
    } else if (o.op == "slice") {
      AddInt64s(g, tag + "starts", {o.ints[0]});
      AddInt64s(g, tag + "ends", {o.ints[0] + o.ints[1]});
      AddInt64s(g, tag + "axes", {1});
      AddNode(g, "Slice", {x, tag + "starts", tag + "ends", tag + "axes"}, out);
    } else {  // onehot_argmax: reshape [B,G,K], argmax, one-hot, reshape back
      const int64_t groups = o.ints[0], k = size.at(o.in[0]) / groups;
      AddInt64s(g, tag + "grouped", {-1, groups, k});
      AddInt64s(g, tag + "flat", {-1, groups * k});
      AddInt64s(g, tag + "depth", {k});
      const float values[] = {0.f, 1.f};
      AddInitializer(g, tag + "values", values, {2});
      AddNode(g, "Reshape", {x, tag + "grouped"}, tag + "logits");
      auto* am = AddNode(g, "ArgMax", {tag + "logits"}, tag + "argmax");
      SetAttr(am, "axis", 2);
      SetAttr(am, "keepdims", 0);
      SetAttr(AddNode(g, "OneHot", {tag + "argmax", tag + "depth", tag + "values"}, tag + "onehot"),
              "axis", -1);
      AddNode(g, "Reshape", {tag + "onehot", tag + "flat"}, out);
    }
    name[o.out] = out;
    size[o.out] = sizes[i];
  }
  AddNode(g, "Identity", {name.at("action")}, "action");
  SetMatrixType(g->add_output(), "action", p.act_dim);
  if (recurrent) {
    AddNode(g, "Identity", {name.at("next_state")}, "next_state");
    SetMatrixType(g->add_output(), "next_state", p.state_dim);
  }
  SaveOnnx(model, path);
}

}  // namespace

namespace {

// Creates the parent folder and runs the writer for `format`; the native runtime's
// std::runtime_error (it has no mbrl::Error) becomes mbrl::Error.
template <class Script, class Onnx, class Native>
void WriteAs(ExportFormat format, const std::string& path, Script script, Onnx onnx,
             Native native) {
  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir);
  try {
    switch (format) {
      case ExportFormat::kTorchScript:
        return script();
      case ExportFormat::kOnnx:
        return onnx();
      case ExportFormat::kNative:
        return native();
    }
  } catch (const Error&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw Error(e.what());
  }
}

}  // namespace

void WriteRecurrentPolicy(const PolicyProgram& p, ExportFormat format, const std::string& path) {
  try {
    p.Validate(path);
  } catch (const std::runtime_error& e) {
    throw Error(e.what());
  }
  WriteAs(
      format, path, [&] { WriteProgramScript(p, path); }, [&] { WriteProgramOnnx(p, path); },
      [&] { SaveProgram(p, path); });
}

void WritePolicy(const PolicyNet& net, ExportFormat format, const std::string& path) {
  WriteAs(
      format, path, [&] { WriteTorchScript(net, path); }, [&] { WriteOnnx(net, path); },
      [&] { SavePolicy(net, path); });
}

}  // namespace mbrl
