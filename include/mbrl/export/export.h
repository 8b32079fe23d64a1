#pragma once
/// Writers of a deployable policy (PolicyNet) for other runtimes: TorchScript (Python
/// torch.jit.load, C++ torch::jit::load) and ONNX (opset 17). The native formats are SavePolicy and
/// SaveProgram.
/// Formats: docs/formats.md ("Policy export").
#include <string>

#include "mbrl/native/program.h"

namespace at {
class Tensor;
}
namespace torch::nn {
class Module;
}

namespace mbrl {

enum class ExportFormat { kTorchScript, kOnnx, kNative };

/// "torchscript" | "onnx" | "native"; throws mbrl::Error otherwise.
ExportFormat ParseExportFormat(const std::string& name);
/// File extension of a format: ".pt", ".onnx", ".mbrlp" (policy programs: ".mbrlr").
const char* ExportExtension(ExportFormat format, bool program = false);

/// Module "MbrlPolicy" with forward(obs [B,O]) -> action [B,A] and int attributes obs_dim, act_dim.
void WriteTorchScript(const PolicyNet& net, const std::string& path);
/// Graph input "obs" [batch,O] -> output "action" [batch,A]; checked with onnx::checker.
void WriteOnnx(const PolicyNet& net, const std::string& path);
/// Writes `net` in `format` to `path` (atomically: temporary file + rename).
void WritePolicy(const PolicyNet& net, ExportFormat format, const std::string& path);

/// A policy program in `format`. Recurrent (Dreamer): TorchScript module "MbrlRecurrentPolicy"
/// (forward(obs [B,O], state [B,N]) -> (action, next_state), initial_state(B)), ONNX graph
/// (obs, state -> action, next_state). Stateless (TD-MPC2, N = 0): the interface of
/// WriteTorchScript / WriteOnnx (obs -> action). Or the native program file. Atomic like
/// WritePolicy.
void WriteRecurrentPolicy(const PolicyProgram& p, ExportFormat format, const std::string& path);

/// A float tensor [rows,cols], or [k] as [1,k], copied into a row-major matrix.
RowMatrixXf ToMatrix(const at::Tensor& t);

/// Appends ops that set register `reg` = m(reg). `m` is a Linear, LayerNorm, SiLU, ReLU or Tanh,
/// or a module whose forward applies its children in registration order (Sequential, MlpNet);
/// the parameters are copied. Throws mbrl::Error on any other module.
void AppendChain(const torch::nn::Module& m, const std::string& reg, PolicyProgram* p);

}  // namespace mbrl
