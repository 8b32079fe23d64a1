#pragma once
/// Writers of a deployable policy (PolicyNet) for other runtimes: TorchScript (Python
/// torch.jit.load, C++ torch::jit::load) and ONNX (opset 17). The native format is SavePolicy.
/// Formats: docs/formats.md ("Policy export").
#include <string>

#include "mbrl/native/policy.h"

namespace torch::jit {
struct Module;
}
namespace torch::nn {
class Module;
}

namespace mbrl {

enum class ExportFormat { kTorchScript, kOnnx, kNative };

/// "torchscript" | "onnx" | "native"; throws mbrl::Error otherwise.
ExportFormat ParseExportFormat(const std::string& name);
/// File extension of a format: ".pt", ".onnx", ".mbrlp".
const char* ExportExtension(ExportFormat format);

/// Module "MbrlPolicy" with forward(obs [B,O]) -> action [B,A] and int attributes obs_dim, act_dim.
void WriteTorchScript(const PolicyNet& net, const std::string& path);
/// Graph input "obs" [batch,O] -> output "action" [batch,A]; checked with onnx::checker.
void WriteOnnx(const PolicyNet& net, const std::string& path);
/// Writes `net` in `format` to `path` (atomically: temporary file + rename).
void WritePolicy(const PolicyNet& net, ExportFormat format, const std::string& path);

/// Saves a TorchScript module to `path` (temporary file + rename; parent folders created).
void WriteScriptModule(const torch::jit::Module& m, const std::string& path);

/// TorchScript statements that set `var` = m(var), for writers that compose a model's step in
/// TorchScript source. `m` is a Linear, LayerNorm, SiLU, ReLU or Tanh, or a module whose forward
/// applies its children in registration order (Sequential, MlpNet). Copies the parameters into
/// `out` as "<name>_<child path>_weight"...; throws mbrl::Error on any other module.
std::string ScriptChain(const torch::nn::Module& m, const std::string& name, const std::string& var,
                        torch::jit::Module& out);

}  // namespace mbrl
