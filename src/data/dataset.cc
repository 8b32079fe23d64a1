#include "mbrl/data/dataset.h"

#include <hdf5.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <initializer_list>
#include <nlohmann/json.hpp>

#include "mbrl/core/check.h"
#include "mbrl/core/runtime.h"
#include "mbrl/data/replay_buffer.h"

namespace mbrl {
namespace fs = std::filesystem;
namespace {

// owns one HDF5 id
class H5 {
 public:
  H5(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~H5() {
    if (id_ >= 0) close_(id_);
  }
  H5(H5&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  H5(const H5&) = delete;
  H5& operator=(const H5&) = delete;
  operator hid_t() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

constexpr const char* kFileName = "main_data.hdf5";

// The dataset folder in `dir`: `dir` itself when it has data/main_data.hdf5, else the one
// <dir>/<id>/ below it that has (a Minari root); "" when none.
std::string FindDatasetFolder(const std::string& dir) {
  if (fs::exists(fs::path(dir) / "data" / kFileName)) return dir;
  std::error_code ec;
  std::string found;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it.depth() > 4) it.disable_recursion_pending();
    if (!it->is_directory() || it->path().filename() != "data" ||
        !fs::exists(it->path() / kFileName))
      continue;
    MBRL_CHECK(found.empty(), dir, ": holds more than one dataset (", found, ", ",
               it->path().parent_path().string(), ")");
    found = it->path().parent_path().string();
  }
  return found;
}

std::string FindMainFile(const std::string& dir) {
  const std::string folder = FindDatasetFolder(dir);
  MBRL_CHECK(!folder.empty(), dir, "/data/", kFileName, ": dataset file not found");
  return folder + "/data/" + kFileName;
}

// Limits on what a file may declare, checked before anything is allocated: space dims, steps per
// episode and episodes (their product fits int64), and bytes per episode array.
constexpr int64_t kMaxDim = 1 << 20, kMaxSteps = int64_t(1) << 31, kMaxEpisodes = int64_t(1) << 31,
                  kMaxArrayBytes = int64_t(1) << 30;

void Quiet() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

// h5py's bool: an 8-bit enum {FALSE=0, TRUE=1}
hid_t BoolType() {
  hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
  int8_t v = 0;
  H5Tenum_insert(t, "FALSE", &v);
  v = 1;
  H5Tenum_insert(t, "TRUE", &v);
  return t;
}

void WriteArray(const std::string& file, hid_t group, const char* name, hid_t file_type,
                hid_t mem_type, const torch::Tensor& t) {
  std::vector<hsize_t> dims(t.sizes().begin(), t.sizes().end());
  H5 space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  H5 ds(H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  MBRL_CHECK(ds.ok() && H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()) >= 0,
             file, ": cannot write ", name);
}

// one value: a scalar attribute, unless `array` (e.g. action bounds, [A] even for A = 1)
template <class T>
void WriteAttr(hid_t obj, const char* name, hid_t type, const T* data, hsize_t n,
               bool array = false) {
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  H5 space(n == 1 && !array ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr), H5Sclose);
  H5 attr(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  H5Awrite(attr, type, data);
}

void WriteStringAttr(hid_t obj, const char* name, const std::string& s) {
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  H5 type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type, s.size() + 1);
  H5Tset_cset(type, H5T_CSET_UTF8);
  H5 space(H5Screate(H5S_SCALAR), H5Sclose);
  H5 attr(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  H5Awrite(attr, type, s.c_str());
}

// Opens attribute `name` of `obj`, checking that it has at most `max_values` values of a type in
// `classes`; returns the attribute and sets `*values` to its number of values.
H5 OpenAttr(const std::string& file, hid_t obj, const char* name,
            std::initializer_list<H5T_class_t> classes, int64_t max_values, int64_t* values,
            const char* what) {
  MBRL_CHECK(H5Aexists(obj, name) > 0, file, ": missing attribute '", name, "'");
  H5 attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  H5 type(H5Aget_type(attr), H5Tclose);
  H5 space(H5Aget_space(attr), H5Sclose);
  const H5T_class_t cls = H5Tget_class(type);
  *values = H5Sget_simple_extent_npoints(space);
  MBRL_CHECK(attr.ok() && std::find(classes.begin(), classes.end(), cls) != classes.end() &&
                 *values >= 1 && *values <= max_values,
             file, ": attribute ", name, " is not ", what);
  return attr;
}

int64_t ReadIntAttr(const std::string& file, hid_t obj, const char* name) {
  int64_t n = 0;
  H5 attr = OpenAttr(file, obj, name, {H5T_INTEGER}, 1, &n, "one integer");
  int64_t v = 0;
  MBRL_CHECK(H5Aread(attr, H5T_NATIVE_INT64, &v) >= 0, file, ": cannot read attribute ", name);
  return v;
}

std::vector<float> ReadFloatsAttr(const std::string& file, hid_t obj, const char* name) {
  int64_t n = 0;
  H5 attr = OpenAttr(file, obj, name, {H5T_FLOAT, H5T_INTEGER}, kMaxDim, &n, "a list of numbers");
  std::vector<float> v(static_cast<size_t>(n));
  MBRL_CHECK(H5Aread(attr, H5T_NATIVE_FLOAT, v.data()) >= 0, file, ": cannot read attribute ",
             name);
  return v;
}

std::string ReadStringAttr(const std::string& file, hid_t obj, const char* name) {
  int64_t n = 0;
  H5 attr = OpenAttr(file, obj, name, {H5T_STRING}, 1, &n, "one string");
  H5 type(H5Aget_type(attr), H5Tclose);
  MBRL_CHECK(!H5Tis_variable_str(type), file, ": attribute ", name,
             " is not a fixed-length string");
  std::string s(H5Tget_size(type), '\0');
  H5Aread(attr, type, s.data());
  return s.substr(0, s.find('\0'));
}

// reads dataset `name` of `group` as `mem_type` into a tensor of `shape`, checking the shape
torch::Tensor ReadArray(const std::string& where, hid_t group, const char* name, hid_t mem_type,
                        torch::ScalarType dtype, std::vector<int64_t> shape) {
  MBRL_CHECK(H5Lexists(group, name, H5P_DEFAULT) > 0, where, "/", name, ": missing");
  H5 ds(H5Dopen2(group, name, H5P_DEFAULT), H5Dclose);
  H5 space(H5Dget_space(ds), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(rank > 0 ? rank : 0);
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  bool same = rank == static_cast<int>(shape.size());
  for (int i = 0; same && i < rank; ++i) same = static_cast<int64_t>(dims[i]) == shape[i];
  if (!same) {
    std::string got, want;
    for (auto d : dims) got += (got.empty() ? "" : ",") + std::to_string(d);
    for (auto d : shape) want += (want.empty() ? "" : ",") + std::to_string(d);
    throw Error(where + "/" + name + ": shape [" + got + "], expected [" + want + "]");
  }
  int64_t bytes = static_cast<int64_t>(torch::elementSize(dtype));
  for (int64_t d : shape) bytes = d > kMaxArrayBytes / bytes ? kMaxArrayBytes + 1 : bytes * d;
  MBRL_CHECK(bytes <= kMaxArrayBytes, where, "/", name, ": larger than ", kMaxArrayBytes >> 30,
             " GiB");
  auto t = torch::empty(shape, dtype);
  MBRL_CHECK(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()) >= 0, where, "/",
             name, ": unreadable (corrupt or wrong type)");
  return t;
}

// an episode group's total_steps, in [1, kMaxSteps]
int64_t EpisodeSteps(const std::string& where, hid_t group) {
  const int64_t t = ReadIntAttr(where, group, "total_steps");
  MBRL_CHECK(t > 0 && t <= kMaxSteps, where, ": total_steps ", t, " not in [1, ", kMaxSteps, "]");
  return t;
}

H5 OpenFile(const std::string& file, unsigned mode) {
  Quiet();
  MBRL_CHECK(fs::exists(file), file, ": dataset file not found");
  MBRL_CHECK(H5Fis_hdf5(file.c_str()) > 0, file, ": not an HDF5 file (truncated or corrupt)");
  H5 f(H5Fopen(file.c_str(), mode, H5P_DEFAULT), H5Fclose);
  MBRL_CHECK(f.ok(), file, ": cannot open HDF5 file (truncated, corrupt or locked)");
  return f;
}

}  // namespace

bool Dataset::Exists(const std::string& dir) { return !FindDatasetFolder(dir).empty(); }

std::string Dataset::MainFile(const std::string& dir, const std::string& id) {
  const std::string folder = FindDatasetFolder(dir);
  if (!folder.empty()) return folder + "/data/" + kFileName;
  return dir + (id.empty() ? "" : "/" + id) + "/data/" + kFileName;
}

Dataset::Dataset(std::string dir, DatasetInfo info)
    : dir_(std::move(dir)),
      file_(MainFile(dir_, info.dataset_id)),
      meta_(fs::path(file_).parent_path().string() + "/metadata.json"),
      info_(std::move(info)) {
  Quiet();
  if (fs::exists(file_)) {
    const DatasetInfo have = ReadInfo(dir_, &episodes_, &steps_);
    MBRL_CHECK(have.env_id == info_.env_id && have.obs_dim == info_.obs_dim &&
                   have.act_dim == info_.act_dim,
               file_, ": dataset is for ", have.env_id, " (obs ", have.obs_dim, ", act ",
               have.act_dim, "), not ", info_.env_id, " (obs ", info_.obs_dim, ", act ",
               info_.act_dim, ")");
    info_.first_episode = have.first_episode;
    info_.first_step = have.first_step;
    info_.dataset_id = have.dataset_id.empty() ? info_.dataset_id : have.dataset_id;
  } else {
    // created under a temporary name and renamed when complete: a kill during creation leaves
    // no file, never a half-made one the resumed run could not open
    fs::create_directories(fs::path(file_).parent_path());
    const std::string tmp = file_ + ".tmp";
    {
      H5 fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
      H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
      H5 f(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), H5Fclose);
      MBRL_CHECK(f.ok(), file_, ": cannot create dataset file");
      WriteStringAttr(f, "env_id", info_.env_id);
      if (!info_.dataset_id.empty()) WriteStringAttr(f, "dataset_id", info_.dataset_id);
      const int64_t dims[2] = {info_.obs_dim, info_.act_dim};
      WriteAttr(f, "obs_dim", H5T_NATIVE_INT64, &dims[0], 1);
      WriteAttr(f, "act_dim", H5T_NATIVE_INT64, &dims[1], 1);
      WriteAttr(f, "action_low", H5T_NATIVE_FLOAT, info_.act_low.data(), info_.act_low.size(),
                true);
      WriteAttr(f, "action_high", H5T_NATIVE_FLOAT, info_.act_high.data(), info_.act_high.size(),
                true);
      WriteAttr(f, "total_episodes", H5T_NATIVE_INT64, &episodes_, 1);
      WriteAttr(f, "total_steps", H5T_NATIVE_INT64, &steps_, 1);
      if (info_.first_episode > 0 || info_.first_step > 0) {
        WriteAttr(f, "first_episode", H5T_NATIVE_INT64, &info_.first_episode, 1);
        WriteAttr(f, "first_step", H5T_NATIVE_INT64, &info_.first_step, 1);
      }
      MBRL_CHECK(H5Fflush(f, H5F_SCOPE_GLOBAL) >= 0, file_, ": flush failed");
    }
    std::error_code ec;
    fs::rename(tmp, file_, ec);
    MBRL_CHECK(!ec, file_, ": cannot rename ", tmp, " (", ec.message(), ")");
  }
  WriteMetadata();
}

void Dataset::Append(const Episode& ep) {
  const int64_t t = ep.steps();
  MBRL_CHECK(t > 0, file_, ": cannot append an empty episode");
  MBRL_CHECK(ep.observations.dim() == 2 && ep.observations.size(0) == t + 1 &&
                 ep.observations.size(1) == info_.obs_dim && ep.actions.size(1) == info_.act_dim &&
                 ep.rewards.numel() == t && ep.terminations.numel() == t &&
                 ep.truncations.numel() == t,
             file_, ": episode arrays do not match the dataset's dims");
  H5 f = OpenFile(file_, H5F_ACC_RDWR);
  const std::string name = "episode_" + std::to_string(episodes_);
  if (H5Lexists(f, name.c_str(), H5P_DEFAULT) > 0) H5Ldelete(f, name.c_str(), H5P_DEFAULT);
  H5 g(H5Gcreate2(f, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  MBRL_CHECK(g.ok(), file_, ": cannot create ", name);
  H5 bool_type(BoolType(), H5Tclose);
  const auto cpu = [](const torch::Tensor& x, torch::ScalarType s) {
    return x.to(torch::kCPU, s).contiguous();
  };
  WriteArray(file_, g, "observations", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
             cpu(ep.observations, torch::kFloat32));
  WriteArray(file_, g, "actions", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
             cpu(ep.actions, torch::kFloat32));
  WriteArray(file_, g, "rewards", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
             cpu(ep.rewards.reshape({t}), torch::kFloat64));
  WriteArray(file_, g, "terminations", bool_type, bool_type,
             cpu(ep.terminations.reshape({t}), torch::kBool));
  WriteArray(file_, g, "truncations", bool_type, bool_type,
             cpu(ep.truncations.reshape({t}), torch::kBool));
  H5 infos(H5Gcreate2(g, "infos", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  WriteAttr(g, "id", H5T_NATIVE_INT64, &episodes_, 1);
  WriteAttr(g, "total_steps", H5T_NATIVE_INT64, &t, 1);
  WriteAttr(g, "seed", H5T_NATIVE_UINT64, &ep.seed, 1);
  // totals last: a reader trusts total_episodes, so a half-written group is ignored
  ++episodes_;
  steps_ += t;
  WriteAttr(f, "total_episodes", H5T_NATIVE_INT64, &episodes_, 1);
  WriteAttr(f, "total_steps", H5T_NATIVE_INT64, &steps_, 1);
  MBRL_CHECK(H5Fflush(f, H5F_SCOPE_GLOBAL) >= 0, file_, ": flush failed");
  WriteMetadata();
}

// A Gymnasium Box space as Minari stores it: a JSON text inside metadata.json, with Python's
// Infinity for unbounded entries.
std::string BoxJson(int dim, const std::vector<float>* low, const std::vector<float>* high) {
  const auto list = [dim](const std::vector<float>* v, const char* inf) {
    std::string s = "[";
    for (int i = 0; i < dim; ++i) {
      s += i ? ", " : "";
      s += v ? nlohmann::json(static_cast<double>((*v)[i])).dump() : std::string(inf);
    }
    return s + "]";
  };
  return R"({"type": "Box", "dtype": "float32", "shape": [)" + std::to_string(dim) +
         R"(], "low": )" + list(low, "-Infinity") + R"(, "high": )" + list(high, "Infinity") + "}";
}

void Dataset::WriteMetadata() const {
  const std::string id =
      info_.dataset_id.empty() ? fs::path(dir_).filename().string() + "-v0" : info_.dataset_id;
  std::error_code ec;
  const auto bytes = fs::file_size(file_, ec);
  nlohmann::json meta = {
      {"dataset_id", id},
      {"minari_version", "0.5.0"},
      {"data_format", "hdf5"},
      {"total_episodes", episodes_},
      {"total_steps", steps_},
      {"observation_space", BoxJson(info_.obs_dim, nullptr, nullptr)},
      {"action_space", BoxJson(info_.act_dim, &info_.act_low, &info_.act_high)},
      {"dataset_size", ec ? 0.0 : std::round(bytes / 1e5) / 10},  // MB, as Minari rounds it
      {"jpeg_encoding", false},
      {"algorithm_name", info_.algorithm},
      {"author", {"mbrl"}},
      {"description", "recorded by mbrl from the task " + info_.env_id},
      {"mbrl_env", info_.env_id},
      {"mbrl_format", "mbrl-minari-v2"}};
  if (!info_.env_spec.empty()) {
    meta["env_spec"] = info_.env_spec;
    meta["eval_env_spec"] = info_.env_spec;
  }
  WriteFileAtomic(meta_, meta.dump(2) + "\n");
}

DatasetInfo Dataset::ReadInfo(const std::string& dir, int64_t* episodes, int64_t* steps) {
  const std::string file = FindMainFile(dir);
  H5 f = OpenFile(file, H5F_ACC_RDONLY);
  DatasetInfo info;
  info.env_id = ReadStringAttr(file, f, "env_id");
  if (H5Aexists(f, "dataset_id") > 0) info.dataset_id = ReadStringAttr(file, f, "dataset_id");
  const int64_t obs_dim = ReadIntAttr(file, f, "obs_dim"),
                act_dim = ReadIntAttr(file, f, "act_dim");
  MBRL_CHECK(obs_dim > 0 && obs_dim <= kMaxDim && act_dim > 0 && act_dim <= kMaxDim, file,
             ": obs_dim ", obs_dim, " / act_dim ", act_dim, " not in [1, ", kMaxDim, "]");
  info.obs_dim = static_cast<int>(obs_dim);
  info.act_dim = static_cast<int>(act_dim);
  info.act_low = ReadFloatsAttr(file, f, "action_low");
  info.act_high = ReadFloatsAttr(file, f, "action_high");
  MBRL_CHECK(info.obs_dim > 0 && info.act_dim > 0 &&
                 static_cast<int>(info.act_low.size()) == info.act_dim &&
                 static_cast<int>(info.act_high.size()) == info.act_dim,
             file, ": inconsistent space attributes");
  for (auto [name, v] : {std::pair{"first_episode", &info.first_episode},
                         std::pair{"first_step", &info.first_step}}) {
    if (H5Aexists(f, name) > 0) *v = ReadIntAttr(file, f, name);
    MBRL_CHECK(*v >= 0 && *v <= kMaxEpisodes * kMaxSteps / 2, file, ": ", name, " out of range");
  }
  const int64_t n = ReadIntAttr(file, f, "total_episodes");
  MBRL_CHECK(n >= 0 && n <= kMaxEpisodes, file, ": total_episodes ", n, " out of range");
  int64_t total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const std::string name = "episode_" + std::to_string(i);
    MBRL_CHECK(H5Lexists(f, name.c_str(), H5P_DEFAULT) > 0, file, ": ", name,
               " missing (total_episodes = ", n, ")");
    H5 g(H5Gopen2(f, name.c_str(), H5P_DEFAULT), H5Gclose);
    total += EpisodeSteps(file + ":" + name, g);
  }
  const int64_t declared = ReadIntAttr(file, f, "total_steps");
  MBRL_CHECK(total == declared, file, ": total_steps ", declared, " but episodes hold ", total);
  if (episodes) *episodes = n;
  if (steps) *steps = total;
  return info;
}

Episode Dataset::ReadEpisode(const std::string& dir, const DatasetInfo& info, int64_t index) {
  const std::string file = FindMainFile(dir);
  H5 f = OpenFile(file, H5F_ACC_RDONLY);
  const std::string name = "episode_" + std::to_string(index);
  const std::string where = file + ":" + name;
  MBRL_CHECK(H5Lexists(f, name.c_str(), H5P_DEFAULT) > 0, where, ": missing");
  H5 g(H5Gopen2(f, name.c_str(), H5P_DEFAULT), H5Gclose);
  const int64_t t = EpisodeSteps(where, g);
  H5 bool_type(BoolType(), H5Tclose);
  Episode ep;
  ep.observations =
      ReadArray(where, g, "observations", H5T_NATIVE_FLOAT, torch::kFloat32, {t + 1, info.obs_dim});
  ep.actions = ReadArray(where, g, "actions", H5T_NATIVE_FLOAT, torch::kFloat32, {t, info.act_dim});
  ep.rewards = ReadArray(where, g, "rewards", H5T_NATIVE_DOUBLE, torch::kFloat64, {t});
  ep.terminations = ReadArray(where, g, "terminations", bool_type, torch::kBool, {t});
  ep.truncations = ReadArray(where, g, "truncations", bool_type, torch::kBool, {t});
  if (H5Aexists(g, "seed") > 0) {  // uint64: read as such (an int64 read clips seeds >= 2^63)
    int64_t n = 0;
    H5 attr = OpenAttr(where, g, "seed", {H5T_INTEGER}, 1, &n, "one integer");
    MBRL_CHECK(H5Aread(attr, H5T_NATIVE_UINT64, &ep.seed) >= 0, where,
               ": cannot read attribute seed");
  }
  return ep;
}

int64_t Dataset::LoadInto(const std::string& dir, ReplayBuffer* buffer) {
  int64_t episodes = 0, steps = 0;
  const DatasetInfo info = ReadInfo(dir, &episodes, &steps);
  MBRL_CHECK(info.obs_dim == buffer->obs_dim() && info.act_dim == buffer->act_dim(),
             FindMainFile(dir), ": dataset dims obs ", info.obs_dim, " act ", info.act_dim,
             " do not match the task's obs ", buffer->obs_dim(), " act ", buffer->act_dim());
  for (int64_t i = 0; i < episodes; ++i) {
    const Episode ep = ReadEpisode(dir, info, i);
    buffer->AddEpisode(ep.observations, ep.actions, ep.rewards, ep.terminations, ep.truncations);
  }
  return steps;
}

}  // namespace mbrl
