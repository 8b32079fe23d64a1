#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "mbrl/core/check.h"
#include "mbrl/data/dataset.h"
#include "mbrl/data/replay_buffer.h"

namespace mbrl {
namespace {
namespace fs = std::filesystem;

// episode i: T steps, obs row k = [i, k, ...], ends terminated when i is odd
Episode MakeEpisode(int i, int t, int obs_dim = 3, int act_dim = 2) {
  Episode ep;
  ep.observations = torch::zeros({t + 1, obs_dim});
  ep.observations.select(1, 0).fill_(i);
  ep.observations.select(1, 1).copy_(torch::arange(t + 1));
  ep.actions = torch::full({t, act_dim}, 0.5f * i);
  ep.rewards = torch::arange(t, torch::kFloat64) + i;
  ep.terminations = torch::zeros({t}, torch::kBool);
  ep.truncations = torch::zeros({t}, torch::kBool);
  (i % 2 ? ep.terminations : ep.truncations)[t - 1] = true;
  ep.seed = 100 + i;
  return ep;
}

std::string FreshDir(const std::string& name) {
  const std::string d = testing::TempDir() + "/mbrl_data_" + name;
  fs::remove_all(d);
  return d;
}

const DatasetInfo kInfo{"fake_task", 3, 2, {-1, -1}, {1, 1}};

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ReplayBuffer, UniformBatchesHaveShapesAndCoverTheBuffer) {
  ReplayBuffer b(100, 3, 2);
  for (int i = 0; i < 5; ++i) {
    auto ep = MakeEpisode(i, 10);
    b.AddEpisode(ep.observations, ep.actions, ep.rewards, ep.terminations, ep.truncations);
  }
  EXPECT_EQ(b.size(), 50);
  auto gen = at::detail::createCPUGenerator(1);
  auto batch = b.Sample(4000, gen);
  EXPECT_EQ(batch.obs.sizes(), torch::IntArrayRef({4000, 3}));
  EXPECT_EQ(batch.act.sizes(), torch::IntArrayRef({4000, 2}));
  EXPECT_EQ(batch.reward.sizes(), torch::IntArrayRef({4000}));
  // every stored transition appears; next_obs follows obs within the episode
  auto key = batch.obs.select(1, 0) * 100 + batch.obs.select(1, 1);
  EXPECT_EQ(std::get<0>(at::_unique(key)).numel(), 50);
  EXPECT_TRUE(torch::equal(batch.next_obs.select(1, 1), batch.obs.select(1, 1) + 1));
  EXPECT_TRUE(torch::equal(batch.reward, batch.obs.select(1, 1) + batch.obs.select(1, 0)));
  // terminated only on the last step of odd episodes
  auto last = batch.obs.select(1, 1).eq(9);
  auto odd = batch.obs.select(1, 0).remainder(2).eq(1);
  EXPECT_TRUE(torch::equal(batch.terminated.to(torch::kBool), last & odd));
}

TEST(ReplayBuffer, RingOverwritesOldest) {
  ReplayBuffer b(25, 3, 2);
  for (int i = 0; i < 4; ++i) {
    auto ep = MakeEpisode(i, 10);
    b.AddEpisode(ep.observations, ep.actions, ep.rewards, ep.terminations, ep.truncations);
  }
  EXPECT_EQ(b.size(), 25);
  auto all = b.All();
  // the 25 newest transitions in order: episode 1 steps 5..9, episodes 2 and 3
  EXPECT_EQ(all.obs[0][0].item<float>(), 1.f);
  EXPECT_EQ(all.obs[0][1].item<float>(), 5.f);
  EXPECT_EQ(all.obs[24][0].item<float>(), 3.f);
  EXPECT_EQ(all.obs[24][1].item<float>(), 9.f);
}

// MBPO's model pool: batches from the newest rows only, across the ring's wrap-around
TEST(ReplayBuffer, RecentSamplesComeFromTheNewestRows) {
  ReplayBuffer b(10, 1, 1);
  for (int i = 0; i < 13; ++i) {  // rows 3..12 remain, row 12 the newest
    auto x = torch::full({1, 1}, static_cast<float>(i));
    b.AddBatch(Batch{x, x, x.view({1}), x, torch::zeros({1})});
  }
  auto gen = at::detail::createCPUGenerator(2);
  const auto values = [&](int64_t recent) {
    auto r = b.Sample(2000, gen, recent).reward;
    return std::get<0>(at::_unique(r));
  };
  EXPECT_TRUE(torch::equal(values(4), torch::tensor({9.f, 10.f, 11.f, 12.f})));
  EXPECT_TRUE(torch::equal(values(0), torch::arange(3, 13).to(torch::kFloat32)));
  EXPECT_TRUE(torch::equal(values(50), torch::arange(3, 13).to(torch::kFloat32)));
}

TEST(ReplayBuffer, SequencesNeverCrossEpisodeEndsAndPadShortEpisodes) {
  ReplayBuffer b(64, 3, 2);  // wraps: 9 episodes of 7..15 steps into 64 slots
  for (int i = 0; i < 9; ++i) {
    auto ep = MakeEpisode(i, 7 + i);
    b.AddEpisode(ep.observations, ep.actions, ep.rewards, ep.terminations, ep.truncations);
  }
  auto gen = at::detail::createCPUGenerator(2);
  auto s = b.SampleSequences(500, 8, gen);
  EXPECT_EQ(s.obs.sizes(), torch::IntArrayRef({500, 8, 3}));
  EXPECT_EQ(s.act.sizes(), torch::IntArrayRef({500, 8, 2}));
  EXPECT_EQ(s.reward.sizes(), torch::IntArrayRef({500, 8}));
  // one episode per window, consecutive steps
  auto ep_id = s.obs.select(2, 0);
  EXPECT_TRUE(torch::equal(ep_id, ep_id.select(1, 0).unsqueeze(1).expand_as(ep_id)));
  auto step = s.obs.select(2, 1);
  EXPECT_TRUE(torch::equal(step.slice(1, 1), step.slice(1, 0, -1) + 1));
  EXPECT_TRUE(torch::equal(s.next_obs.slice(1, 0, -1), s.obs.slice(1, 1)));
  // `first` marks step 0 of an episode, and only at the window start
  EXPECT_TRUE(torch::equal(s.first.to(torch::kBool), step.eq(0)));
  EXPECT_FALSE(s.first.slice(1, 1).any().item<bool>());
  EXPECT_TRUE(s.mask.eq(1).all().item<bool>());  // every stored episode is longer than 8
  // longer windows than any episode (12..15 steps stored): one window from each episode's start,
  // real steps = the episode's length, then padding that repeats the last step, masked out
  auto p = b.SampleSequences(200, 16, gen);
  EXPECT_TRUE(p.first.select(1, 0).eq(1).all().item<bool>());
  auto id = p.obs.select(2, 0).select(1, 0);
  auto real = p.mask.sum(1);
  EXPECT_TRUE(torch::equal(real, id + 7)) << "episode i has 7 + i steps";
  EXPECT_TRUE(torch::equal(p.obs.select(2, 1).select(1, 15), real - 1));
  EXPECT_TRUE(torch::equal(p.mask.slice(1, 0, 12), torch::ones({200, 12})));
  EXPECT_EQ(std::get<0>(at::_unique(id)).numel(), 4) << "all four whole episodes are drawn";
  EXPECT_THROW(ReplayBuffer(8, 3, 2).SampleSequences(4, 16, gen), Error);  // empty buffer
}

TEST(Dataset, RoundTripAppendAndReload) {
  const std::string dir = FreshDir("roundtrip");
  {
    Dataset ds(dir, kInfo);
    ds.Append(MakeEpisode(0, 5));
    ds.Append(MakeEpisode(1, 7));
  }
  {
    Dataset ds(dir, kInfo);  // reopen and continue
    EXPECT_EQ(ds.episodes(), 2);
    ds.Append(MakeEpisode(2, 4));
  }
  int64_t n = 0, steps = 0;
  auto info = Dataset::ReadInfo(dir, &n, &steps);
  EXPECT_EQ(info.env_id, "fake_task");
  EXPECT_EQ(n, 3);
  EXPECT_EQ(steps, 16);
  for (int i = 0; i < 3; ++i) {
    auto want = MakeEpisode(i, i == 0 ? 5 : i == 1 ? 7 : 4);
    auto got = Dataset::ReadEpisode(dir, info, i);
    EXPECT_TRUE(torch::equal(got.observations, want.observations));
    EXPECT_TRUE(torch::equal(got.actions, want.actions));
    EXPECT_TRUE(torch::equal(got.rewards, want.rewards));
    EXPECT_TRUE(torch::equal(got.terminations, want.terminations));
    EXPECT_TRUE(torch::equal(got.truncations, want.truncations));
    EXPECT_EQ(got.seed, want.seed);
  }
  ReplayBuffer b(100, 3, 2);
  EXPECT_EQ(Dataset::LoadInto(dir, &b), 16);
  EXPECT_EQ(b.size(), 16);
  auto meta = std::ifstream(dir + "/data/metadata.json");
  std::string text((std::istreambuf_iterator<char>(meta)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"total_steps\": 16"), std::string::npos) << text;
}

// reset seeds are full 64-bit values (DeriveSeed): those >= 2^63 read back unclipped
TEST(Dataset, SeedsOfAllSixtyFourBitsRoundTrip) {
  const std::string dir = FreshDir("seeds");
  const std::vector<uint64_t> seeds = {
      0, 1, (uint64_t(1) << 63) - 1, uint64_t(1) << 63, 0xF123456789ABCDEFull, ~uint64_t(0)};
  {
    Dataset ds(dir, kInfo);
    for (size_t i = 0; i < seeds.size(); ++i) {
      Episode ep = MakeEpisode(static_cast<int>(i), 3);
      ep.seed = seeds[i];
      ds.Append(ep);
    }
  }
  const auto info = Dataset::ReadInfo(dir);
  for (size_t i = 0; i < seeds.size(); ++i)
    EXPECT_EQ(Dataset::ReadEpisode(dir, info, static_cast<int64_t>(i)).seed, seeds[i]) << i;
}

TEST(Dataset, MismatchedTaskOrDimsIsAnError) {
  const std::string dir = FreshDir("mismatch");
  Dataset(dir, kInfo).Append(MakeEpisode(0, 3));
  EXPECT_NE(ErrorOf([&] {
              Dataset(dir, {"other", 3, 2, {-1, -1}, {1, 1}});
            }).find("dataset is for fake_task"),
            std::string::npos);
  ReplayBuffer wrong(10, 4, 2);
  EXPECT_NE(ErrorOf([&] { Dataset::LoadInto(dir, &wrong); }).find("do not match"),
            std::string::npos);
  Dataset ds(dir, kInfo);
  EXPECT_THROW(ds.Append(MakeEpisode(1, 3, 5, 2)), Error);
}

TEST(Dataset, TruncatedOrCorruptFileIsAClearError) {
  const std::string dir = FreshDir("truncated");
  {
    Dataset ds(dir, kInfo);
    for (int i = 0; i < 4; ++i) ds.Append(MakeEpisode(i, 50));
  }
  const std::string file = dir + "/data/main_data.hdf5";
  fs::resize_file(file, fs::file_size(file) / 2);
  const std::string e = ErrorOf([&] { Dataset::ReadInfo(dir); });
  EXPECT_NE(e.find("main_data.hdf5"), std::string::npos) << e;
  EXPECT_TRUE(e.find("truncated") != std::string::npos || e.find("corrupt") != std::string::npos ||
              e.find("unreadable") != std::string::npos)
      << e;
  std::ofstream(file, std::ios::trunc) << "not hdf5";
  EXPECT_NE(ErrorOf([&] { Dataset::ReadInfo(dir); }).find("not an HDF5 file"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { Dataset::ReadInfo(FreshDir("missing")); }).find("not found"),
            std::string::npos);
}

TEST(Dataset, WrongShapeOrMissingEpisodeIsAClearError) {
  const std::string dir = FreshDir("shape");
  {
    Dataset ds(dir, kInfo);
    ds.Append(MakeEpisode(0, 5));
    ds.Append(MakeEpisode(1, 5));
  }
  // rewrite episode_1/actions with 4 rows, and claim 3 episodes
  const std::string file = dir + "/data/main_data.hdf5";
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  H5Ldelete(f, "episode_1/actions", H5P_DEFAULT);
  hsize_t dims[2] = {4, 2};
  hid_t space = H5Screate_simple(2, dims, nullptr);
  hid_t ds = H5Dcreate2(f, "episode_1/actions", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                        H5P_DEFAULT);
  std::vector<float> zeros(8, 0.f);
  H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data());
  H5Dclose(ds);
  H5Sclose(space);
  H5Fclose(f);
  auto info = Dataset::ReadInfo(dir);
  const std::string e = ErrorOf([&] { Dataset::ReadEpisode(dir, info, 1); });
  EXPECT_NE(e.find("episode_1/actions: shape [4,2], expected [5,2]"), std::string::npos) << e;

  f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t attr = H5Aopen(f, "total_episodes", H5P_DEFAULT);
  int64_t three = 3;
  H5Awrite(attr, H5T_NATIVE_INT64, &three);
  H5Aclose(attr);
  H5Fclose(f);
  EXPECT_NE(ErrorOf([&] { Dataset::ReadInfo(dir); }).find("episode_2 missing"), std::string::npos);
}

// Replaces attribute `name` of object `path` in the dataset file with `n` int64 values.
void SetIntAttr(const std::string& dir, const char* path, const char* name,
                std::vector<int64_t> values) {
  const std::string file = dir + "/data/main_data.hdf5";
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  hid_t obj = H5Oopen(f, path, H5P_DEFAULT);
  H5Adelete(obj, name);
  const hsize_t n = values.size();
  hid_t space = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr);
  hid_t attr = H5Acreate2(obj, name, H5T_NATIVE_INT64, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(attr, H5T_NATIVE_INT64, values.data());
  H5Aclose(attr);
  H5Sclose(space);
  H5Oclose(obj);
  H5Fclose(f);
}

// Fuzzer finding (tests/fuzz/crashes/dataset-int-attribute-array): an integer attribute holding an
// array was read into one int64 (stack overflow); attributes must now have one value. Huge or
// negative counts are errors before anything is allocated.
TEST(Dataset, HostileAttributesAreClearErrors) {
  const std::string dir = FreshDir("attrs");
  const auto fresh = [&] {
    fs::remove_all(dir);
    Dataset ds(dir, kInfo);
    ds.Append(MakeEpisode(0, 5));
  };
  const std::pair<std::function<void()>, std::string> cases[] = {
      {[&] {
         SetIntAttr(dir, "/", "obs_dim", {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3});
       },
       "attribute obs_dim is not one integer"},
      {[&] { SetIntAttr(dir, "/", "obs_dim", {int64_t(1) << 40}); }, "obs_dim 1099511627776"},
      {[&] { SetIntAttr(dir, "/", "total_episodes", {-5}); }, "total_episodes -5 out of range"},
      {[&] { SetIntAttr(dir, "/episode_0", "total_steps", {INT64_MAX}); },
       "total_steps 9223372036854775807 not in [1, "},
  };
  for (const auto& [damage, want] : cases) {
    fresh();
    damage();
    const std::string e = ErrorOf([&] { Dataset::ReadInfo(dir); });
    EXPECT_NE(e.find(want), std::string::npos) << want << " -> " << e;
  }
  // an episode array far larger than memory is refused before allocating it
  fresh();
  SetIntAttr(dir, "/episode_0", "total_steps", {int64_t(1) << 30});
  const std::string file = dir + "/data/main_data.hdf5";
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  H5Ldelete(f, "episode_0/observations", H5P_DEFAULT);
  hsize_t dims[2] = {(hsize_t(1) << 30) + 1, 3};
  hid_t space = H5Screate_simple(2, dims, nullptr);
  hid_t ds = H5Dcreate2(f, "episode_0/observations", H5T_IEEE_F32LE, space, H5P_DEFAULT,
                        H5P_DEFAULT, H5P_DEFAULT);  // no data written: nothing stored
  H5Dclose(ds);
  H5Sclose(space);
  SetIntAttr(dir, "/", "total_steps", {int64_t(1) << 30});
  H5Fclose(f);
  const auto info = Dataset::ReadInfo(dir);
  const std::string e = ErrorOf([&] { Dataset::ReadEpisode(dir, info, 0); });
  EXPECT_NE(e.find("observations: larger than 1 GiB"), std::string::npos) << e;
}

}  // namespace
}  // namespace mbrl
