#include "tests/fuzz/harness.h"

#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agents/run_config.h"
#include "mbrl/config/config.h"
#include "mbrl/core/check.h"
#include "mbrl/data/dataset.h"
#include "mbrl/data/replay_buffer.h"

namespace mbrl::fuzz {
namespace {
namespace fs = std::filesystem;

// one scratch directory per process
const std::string& Scratch() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string d = std::string(tmp ? tmp : "/tmp") + "/mbrl_fuzz_" + std::to_string(getpid());
    fs::create_directories(d + "/data");
    return d;
  }();
  return dir;
}

void Write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// The fuzz input read front to back; zeros once it runs out.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  uint8_t Byte() { return p_ < end_ ? *p_++ : 0; }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | Byte();
    return v;
  }
  // in [lo, hi]; 0 bytes give lo
  int64_t In(int64_t lo, int64_t hi) {
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    return lo + static_cast<int64_t>((span <= 256 ? Byte() : U64()) % span);
  }
  std::string Str(size_t max) {
    std::string s(In(0, static_cast<int64_t>(max)), '\0');
    for (auto& c : s) c = static_cast<char>(Byte());
    return s;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// owns one HDF5 id
struct Id {
  hid_t id;
  herr_t (*close)(hid_t);
  ~Id() {
    if (id >= 0) close(id);
  }
  operator hid_t() const { return id; }
};

// a valid value when the selector is 0, else an edge case or an arbitrary one
int64_t IntValue(Bytes& b, int64_t valid) {
  static const int64_t kEdges[] = {0, -1, 1, INT32_MAX, int64_t(1) << 40, INT64_MAX, INT64_MIN};
  switch (b.In(0, 3)) {
    case 0:
      return valid;
    case 1:
      return valid + b.In(-3, 3);
    case 2:
      return kEdges[b.In(0, 6)];
    default:
      return static_cast<int64_t>(b.U64());
  }
}

void WriteRaw(hid_t obj, const char* name, hid_t type, const std::vector<hsize_t>& dims,
              const void* data, bool attribute) {
  Id space{dims.empty() ? H5Screate(H5S_SCALAR)
                        : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
           H5Sclose};
  if (attribute) {
    Id a{H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose};
    if (a >= 0) H5Awrite(a, type, data);
  } else {
    Id d{H5Dcreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose};
    if (d >= 0) H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  }
}

hid_t BoolType() {  // h5py's bool, as the dataset writer makes it
  hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
  for (int8_t v : {0, 1}) H5Tenum_insert(t, v ? "TRUE" : "FALSE", &v);
  return t;
}

// An attribute or dataset meant to hold `valid_dims` of `valid_type` (scalar when empty): written
// as such (selector 0) or absent, with other dims, or of another type (int, float, bool enum,
// fixed or variable-length string). Contents come from the input.
void Field(Bytes& b, hid_t obj, const char* name, hid_t valid_type, std::vector<hsize_t> dims,
           bool attribute, int64_t int_value = 0) {
  const int64_t how = b.In(0, 9);
  if (how == 1) return;  // missing
  if (how == 2) {        // other dims
    dims.resize(b.In(0, 3));
    for (auto& d : dims) d = b.In(0, 9);
  }
  hid_t type = valid_type;
  Id bool_type{BoolType(), H5Tclose};
  Id str_type{H5Tcopy(H5T_C_S1), H5Tclose};
  if (how == 3) {
    const hid_t others[] = {H5T_NATIVE_INT64, H5T_NATIVE_FLOAT, H5T_NATIVE_DOUBLE,
                            bool_type,        str_type,         H5T_NATIVE_UINT8};
    type = others[b.In(0, 5)];
  }
  const bool string = H5Tget_class(type) == H5T_STRING;
  if (string) {
    if (b.In(0, 1)) {
      H5Tset_size(type, H5T_VARIABLE);
      std::vector<std::string> texts;
      std::vector<const char*> ptrs;
      hsize_t n = 1;
      for (auto d : dims) n *= d;
      for (hsize_t i = 0; i < n; ++i) texts.push_back(b.Str(12));
      for (const auto& t : texts) ptrs.push_back(t.c_str());
      WriteRaw(obj, name, type, dims, ptrs.data(), attribute);
      return;
    }
    H5Tset_size(type, b.In(1, 16));
  }
  hsize_t n = 1;
  for (auto d : dims) n *= d;
  std::vector<uint8_t> data(n * H5Tget_size(type) + 8);
  if (H5Tget_class(type) == H5T_INTEGER && H5Tget_size(type) == 8) {
    for (hsize_t i = 0; i < n; ++i) {
      const int64_t v = i == 0 ? IntValue(b, int_value) : b.In(-2, 5);
      std::copy_n(reinterpret_cast<const uint8_t*>(&v), 8, data.begin() + i * 8);
    }
  } else if (H5Tget_class(type) == H5T_ENUM) {
    for (hsize_t i = 0; i < n; ++i) data[i] = b.In(0, 1);  // enum values must exist
  } else if (how >= 4 && how <= 5) {
    for (auto& c : data) c = b.Byte();  // arbitrary bits: NaN, Inf, huge values
  }
  WriteRaw(obj, name, type, dims, data.data(), attribute);
}

void BuildDataset(Bytes& b, const std::string& file) {
  const hsize_t obs = b.In(1, 4), act = b.In(1, 3);
  const int64_t episodes = b.In(1, 3);
  std::vector<int64_t> steps;
  for (int64_t i = 0; i < episodes; ++i) steps.push_back(b.In(1, 6));
  Id fapl{H5Pcreate(H5P_FILE_ACCESS), H5Pclose};
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  Id f{H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), H5Fclose};
  if (f < 0) return;
  {
    const std::string env = b.In(0, 3) ? "cartpole_swingup" : b.Str(20);
    Id t{H5Tcopy(H5T_C_S1), H5Tclose};
    H5Tset_size(t, env.size() + 1);
    if (b.In(0, 7))
      WriteRaw(f, "env_id", t, {}, env.c_str(), true);
    else
      Field(b, f, "env_id", H5T_NATIVE_INT64, {}, true);
  }
  Field(b, f, "obs_dim", H5T_NATIVE_INT64, {}, true, obs);
  Field(b, f, "act_dim", H5T_NATIVE_INT64, {}, true, act);
  Field(b, f, "action_low", H5T_NATIVE_FLOAT, {act}, true);
  Field(b, f, "action_high", H5T_NATIVE_FLOAT, {act}, true);
  int64_t total = 0;
  for (int64_t s : steps) total += s;
  Field(b, f, "total_episodes", H5T_NATIVE_INT64, {}, true, episodes);
  Field(b, f, "total_steps", H5T_NATIVE_INT64, {}, true, total);
  Id bool_type{BoolType(), H5Tclose};
  for (int64_t i = 0; i < episodes; ++i) {
    const int64_t index = b.In(0, 15) ? i : b.In(0, 4);
    const std::string name = "episode_" + std::to_string(index);
    if (H5Lexists(f, name.c_str(), H5P_DEFAULT) > 0) continue;
    Id g{H5Gcreate2(f, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose};
    const hsize_t t = steps[i];
    Field(b, g, "id", H5T_NATIVE_INT64, {}, true, index);
    Field(b, g, "total_steps", H5T_NATIVE_INT64, {}, true, steps[i]);
    Field(b, g, "seed", H5T_NATIVE_INT64, {}, true, 7);
    Field(b, g, "observations", H5T_NATIVE_FLOAT, {t + 1, obs}, false);
    Field(b, g, "actions", H5T_NATIVE_FLOAT, {t, act}, false);
    Field(b, g, "rewards", H5T_NATIVE_DOUBLE, {t}, false);
    Field(b, g, "terminations", bool_type, {t}, false);
    Field(b, g, "truncations", bool_type, {t}, false);
  }
}

// then maybe damage the file itself: truncate it or overwrite a few bytes
void Damage(Bytes& b, const std::string& file) {
  const int64_t how = b.In(0, 5);
  if (how < 4) return;
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (bytes.empty()) return;
  if (how == 4) {
    bytes.resize(b.In(0, static_cast<int64_t>(bytes.size()) - 1));
  } else {
    for (int64_t k = b.In(1, 8); k > 0; --k) bytes[b.In(0, bytes.size() - 1)] = b.Byte();
  }
  Write(file, bytes);
}

}  // namespace

void ConfigInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t sep = text.find("\n---\n");
  std::vector<std::string> overrides;
  if (sep != std::string::npos) {
    size_t start = sep + 5;
    while (start <= text.size()) {
      const size_t nl = std::min(text.find('\n', start), text.size());
      overrides.push_back(text.substr(start, nl - start));
      start = nl + 1;
    }
  }
  const std::string dir = Scratch();
  static const bool base_written = [&] {
    Write(
        dir + "/base.json",
        R"({"seed": 3, "env": {"name": "hopper"}, "agent": "sac", "sac": {"sac": {"hidden": 64}}})");
    return true;
  }();
  (void)base_written;
  Write(dir + "/config.json", text.substr(0, sep));
  config::Json resolved;
  try {
    config::Load<RunConfig>({dir + "/config.json"}, overrides, &resolved);
  } catch (const Error&) {
    return;
  }
  // what a run saves as config.json must load again, unchanged
  const config::Json reread = config::ParseJson(resolved.dump(2), "resolved");
  if (config::ToJson(config::FromJson<RunConfig>(reread)) != resolved) std::abort();
}

void DatasetInput(const uint8_t* data, size_t size) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  Bytes b(data, size);
  const std::string dir = Scratch();
  const std::string file = dir + "/data/main_data.hdf5";
  BuildDataset(b, file);
  Damage(b, file);
  try {
    int64_t episodes = 0, steps = 0;
    const DatasetInfo info = Dataset::ReadInfo(dir, &episodes, &steps);
    for (int64_t i = 0; i < std::min<int64_t>(episodes, 4); ++i) Dataset::ReadEpisode(dir, info, i);
    ReplayBuffer buffer(64, 4, 1);  // a run on cartpole_swingup (obs 4, act 1) resuming
    Dataset::LoadInto(dir, &buffer);
    Dataset reopened(dir, {"cartpole_swingup", 4, 1, {-1}, {1}});
  } catch (const Error&) {
  }
}

}  // namespace mbrl::fuzz
