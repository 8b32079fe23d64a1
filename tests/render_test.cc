// Headless rendering (EGL + Mesa's software rasterizer), the own GIF encoder and eval --video.
#include "envs/render.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "agents/run_config.h"
#include "agents/trainer.h"
#include "envs/mujoco_env.h"
#include "envs/video.h"
#include "tests/test_util.h"

namespace mbrl {
namespace {
namespace fs = std::filesystem;

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Test-side GIF LZW decoder (minimum code size 8), written from the GIF89a spec.
std::vector<uint8_t> LzwDecode(const std::vector<uint8_t>& data) {
  std::vector<std::vector<uint8_t>> table;
  auto reset = [&] {
    table.assign(258, {});
    for (int i = 0; i < 256; ++i) table[i] = {static_cast<uint8_t>(i)};
  };
  reset();
  std::vector<uint8_t> out;
  size_t bit = 0;
  int width = 9, prev = -1;
  while (bit + width <= data.size() * 8) {
    int code = 0;
    for (int k = 0; k < width; ++k, ++bit) code |= ((data[bit / 8] >> (bit % 8)) & 1) << k;
    if (code == 256) {
      reset();
      width = 9;
      prev = -1;
      continue;
    }
    if (code == 257) break;
    std::vector<uint8_t> entry;
    if (code < static_cast<int>(table.size())) {
      entry = table[code];
    } else {  // the code being defined right now
      EXPECT_EQ(code, static_cast<int>(table.size()));
      EXPECT_GE(prev, 0);
      if (prev < 0) return out;
      entry = table[prev];
      entry.push_back(table[prev][0]);
    }
    out.insert(out.end(), entry.begin(), entry.end());
    if (prev >= 0 && table.size() < 4096) {
      std::vector<uint8_t> added = table[prev];
      added.push_back(entry[0]);
      table.push_back(added);
    }
    prev = code;
    if (static_cast<int>(table.size()) >= (1 << width) && width < 12) ++width;
  }
  return out;
}

struct GifInfo {
  int width = 0, height = 0;
  std::vector<int> delays;
  std::vector<std::vector<uint8_t>> frames;  // palette indices
};

// Walks the block structure of a GIF written by GifWriter.
GifInfo ParseGif(const std::vector<uint8_t>& b) {
  GifInfo g;
  auto u16 = [&b](size_t i) { return b[i] | (b[i + 1] << 8); };
  EXPECT_EQ(std::string(b.begin(), b.begin() + 6), "GIF89a");
  g.width = u16(6);
  g.height = u16(8);
  EXPECT_EQ(b[10], 0xf7);  // 256-entry global colour table
  size_t i = 13 + 768;
  auto sub_blocks = [&b, &i] {
    std::vector<uint8_t> data;
    while (b.at(i) != 0) {
      data.insert(data.end(), b.begin() + i + 1, b.begin() + i + 1 + b[i]);
      i += 1 + b[i];
    }
    ++i;
    return data;
  };
  while (i < b.size() && b[i] != 0x3b) {
    if (b[i] == 0x21) {  // extension
      if (b[i + 1] == 0xf9) g.delays.push_back(u16(i + 4));
      i += 2;
      sub_blocks();
    } else {
      EXPECT_EQ(b[i], 0x2c) << "at byte " << i;
      if (b[i] != 0x2c) break;
      EXPECT_EQ(u16(i + 5), g.width);
      EXPECT_EQ(u16(i + 7), g.height);
      EXPECT_EQ(b[i + 10], 8);  // LZW minimum code size
      i += 11;
      g.frames.push_back(LzwDecode(sub_blocks()));
    }
  }
  EXPECT_LT(i, b.size());
  EXPECT_EQ(b.back(), 0x3b);
  return g;
}

Frame Pattern(int w, int h, int seed) {
  Frame f{w, h, std::vector<uint8_t>(3 * w * h)};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &f.rgb[3 * (y * w + x)];
      p[0] = static_cast<uint8_t>(x * 255 / (w - 1));
      p[1] = static_cast<uint8_t>(y * 255 / (h - 1));
      p[2] = static_cast<uint8_t>((x + y + 40 * seed) % 256);
    }
  }
  return f;
}

TEST(Gif, LzwRoundTripsRunsNoiseAndTableResets) {
  std::mt19937 rng(3);
  for (size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{300}, size_t{200000}}) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = (i / 7) % 3 == 0 ? rng() % 256 : (i / 100) % 5;
    EXPECT_EQ(LzwDecode(GifLzw(v)), v) << n;
  }
  std::vector<uint8_t> flat(100000, 17);  // long runs: KwKwK codes
  EXPECT_EQ(LzwDecode(GifLzw(flat)), flat);
  EXPECT_LT(GifLzw(flat).size(), 1000u);
}

TEST(Gif, PaletteIsTheColourCube) {
  const auto& p = GifPalette();
  Frame f{2, 1, {255, 0, 128, 10, 250, 250}};
  const auto idx = GifQuantize(f);
  EXPECT_EQ(p[3 * idx[0]], 255);
  EXPECT_EQ(p[3 * idx[0] + 1], 0);
  EXPECT_EQ(p[3 * idx[0] + 2], 153);
  EXPECT_EQ(p[3 * idx[1]], 0);
  EXPECT_EQ(p[3 * idx[1] + 1], 255);
  EXPECT_EQ(p[3 * idx[1] + 2], 255);
}

TEST(Gif, FileStructureFramesDelaysAndPixels) {
  const std::string path = testing::TempDir() + "/mbrl_pattern.gif";
  const int w = 37, h = 23;
  {
    auto v = VideoWriter::Open(path, w, h, 25.0);  // 4 cs per frame
    for (int k = 0; k < 3; ++k) v->Add(Pattern(w, h, k));
    v->Close();
  }
  const GifInfo g = ParseGif(ReadBytes(path));
  EXPECT_EQ(g.width, w);
  EXPECT_EQ(g.height, h);
  ASSERT_EQ(g.frames.size(), 3u);
  EXPECT_EQ(g.delays, (std::vector<int>{4, 4, 4}));
  for (int k = 0; k < 3; ++k) EXPECT_EQ(g.frames[k], GifQuantize(Pattern(w, h, k))) << k;

  // an independent decoder, if Debian's python3-pil is installed
  if (Shell("/usr/bin/python3 -c 'import PIL'").code != 0) {
    std::printf("python3-pil not installed: GIF not cross-checked with PIL\n");
    return;
  }
  const std::string expect = testing::TempDir() + "/mbrl_pattern_frame1.rgb";
  {
    const auto idx = GifQuantize(Pattern(w, h, 1));
    std::ofstream f(expect, std::ios::binary);
    for (uint8_t i : idx) f.write(reinterpret_cast<const char*>(&GifPalette()[3 * i]), 3);
  }
  const auto r = Shell(
      "/usr/bin/python3 -c \"import sys; from PIL import Image; im = "
      "Image.open(sys.argv[1]); n = im.n_frames; im.seek(1); "
      "ok = im.convert('RGB').tobytes() == open(sys.argv[2], 'rb').read(); "
      "print(n, im.size[0], im.size[1], ok)\" " +
      path + " " + expect);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "3 37 23 True\n");
}

TEST(Gif, DropsFramesCloserThanTwoCentiseconds) {
  const std::string path = testing::TempDir() + "/mbrl_fast.gif";
  {
    auto v = VideoWriter::Open(path, 8, 8, 125.0);  // 0.8 cs per frame
    for (int k = 0; k < 10; ++k) v->Add(Pattern(8, 8, k));
  }  // closed by the destructor
  const GifInfo g = ParseGif(ReadBytes(path));
  ASSERT_EQ(g.frames.size(), 4u);  // t = 0, 2.4, 4.8, 7.2 cs
  EXPECT_EQ(g.delays, (std::vector<int>{2, 3, 2, 2}));
  EXPECT_EQ(g.frames[1], GifQuantize(Pattern(8, 8, 3)));
}

TEST(Video, UnknownExtensionAndMissingFfmpegAreClearErrors) {
  EXPECT_THROW(VideoWriter::Open(testing::TempDir() + "/x.avi", 8, 8, 10), Error);
  if (!FfmpegAvailable()) {
    try {
      VideoWriter::Open(testing::TempDir() + "/x.mp4", 8, 8, 10);
      ADD_FAILURE() << "mp4 without ffmpeg did not throw";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("ffmpeg"), std::string::npos) << e.what();
    }
  }
}

// The mp4 path with a stand-in `ffmpeg` on PATH that records its arguments and stdin.
TEST(Video, Mp4PipesRawFramesToFfmpeg) {
  const std::string bin_dir = testing::TempDir() + "/mbrl_fake_ffmpeg";
  fs::create_directories(bin_dir);
  {
    std::ofstream f(bin_dir + "/ffmpeg");
    f << "#!/bin/sh\necho \"$@\" > \"$0.args\"\nfor a; do out=$a; done\ncat > \"$out\"\n";
  }
  fs::permissions(bin_dir + "/ffmpeg", fs::perms::owner_all);
  const std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  setenv("PATH", (bin_dir + ":" + old_path).c_str(), 1);
  const std::string out = testing::TempDir() + "/mbrl fake.mp4";
  {
    auto v = VideoWriter::Open(out, 9, 5, 62.5);
    for (int k = 0; k < 3; ++k) v->Add(Pattern(9, 5, k));
    v->Close();
  }
  setenv("PATH", old_path.c_str(), 1);
  std::vector<uint8_t> expect;
  for (int k = 0; k < 3; ++k) {
    const auto rgb = Pattern(9, 5, k).rgb;
    expect.insert(expect.end(), rgb.begin(), rgb.end());
  }
  EXPECT_EQ(ReadBytes(out), expect);
  const auto args = ReadBytes(bin_dir + "/ffmpeg.args");
  const std::string a(args.begin(), args.end());
  EXPECT_NE(a.find("-f rawvideo -pix_fmt rgb24 -s 9x5 -r 62.5 -i -"), std::string::npos) << a;
  EXPECT_NE(a.find("-pix_fmt yuv420p"), std::string::npos) << a;
}

double Variance(const Frame& f) {
  double s = 0, s2 = 0;
  for (uint8_t c : f.rgb) {
    s += c;
    s2 += double(c) * c;
  }
  s /= f.rgb.size();
  return s2 / f.rgb.size() - s * s;
}

#define SKIP_WITHOUT_GL()                                                                   \
  do {                                                                                      \
    std::string why;                                                                        \
    if (!Renderer::Available(&why)) GTEST_SKIP() << "no offscreen OpenGL context: " << why; \
  } while (0)

TEST(Render, FramesAreNotBlankAndFollowTheState) {
  SKIP_WITHOUT_GL();
  for (const char* task : {"hopper", "reacher", "dmc_cartpole_swingup"}) {
    SCOPED_TRACE(task);
    auto env = MakeEnv(task);
    env->Reset(1);
    auto& mujoco_env = dynamic_cast<MujocoEnv&>(*env);
    Renderer renderer(mujoco_env, 96, 72);
    const Frame a = renderer.Render();
    ASSERT_EQ(a.width, 96);
    ASSERT_EQ(a.height, 72);
    ASSERT_EQ(a.rgb.size(), 96u * 72 * 3);
    EXPECT_GT(Variance(a), 20.0);
    std::set<int> colours;
    for (size_t i = 0; i < a.rgb.size(); i += 3)
      colours.insert(a.rgb[i] << 16 | a.rgb[i + 1] << 8 | a.rgb[i + 2]);
    EXPECT_GT(colours.size(), 10u);
    EXPECT_EQ(renderer.Render().rgb, a.rgb);  // deterministic
    const torch::Tensor act = torch::ones({env->spec().act_dim});
    for (int t = 0; t < 15; ++t) env->Step(act);
    const Frame b = renderer.Render();
    int changed = 0;  // pixels
    for (size_t i = 0; i < a.rgb.size(); i += 3)
      changed += !std::equal(&a.rgb[i], &a.rgb[i] + 3, &b.rgb[i]);
    EXPECT_GE(changed, 20);
  }
}

TEST(Render, LeavesTheEnvUnchangedAndSupportsLargeFrames) {
  SKIP_WITHOUT_GL();
  auto plain = MakeEnv("half_cheetah"), shown = MakeEnv("half_cheetah");
  Renderer renderer(dynamic_cast<MujocoEnv&>(*shown), 800, 600);  // above the 640x480 default
  plain->Reset(5);
  shown->Reset(5);
  EXPECT_GT(Variance(renderer.Render()), 20.0);
  const torch::Tensor act = torch::full({plain->spec().act_dim}, 0.5f);
  for (int t = 0; t < 5; ++t) {
    const StepResult p = plain->Step(act), s = shown->Step(act);
    renderer.Render();
    EXPECT_TRUE(torch::equal(p.obs, s.obs));
    EXPECT_EQ(p.reward, s.reward);
  }
}

TEST(Render, EvalWritesGifAndReportsMissingFfmpeg) {
  SKIP_WITHOUT_GL();
  const std::string runs = testing::TempDir() + "/mbrl_runs_video";
  fs::remove_all(runs);
  config::Json resolved;
  const RunConfig cfg = LoadRunConfig(
      {std::string(MBRL_SOURCE_DIR) + "/configs/random_cartpole.json"},
      {"total_env_steps=60", "env.max_steps=30", "progress=false", "runs_dir=" + runs}, &resolved);
  const std::string dir = Train(cfg, resolved);
  const std::string bin = MBRL_BINARY;
  const std::string gif = testing::TempDir() + "/mbrl_eval.gif";
  fs::remove(gif);
  auto ev =
      Shell(bin + " eval " + dir + " --episodes 2 --video " + gif + " --width 48 --height 32");
  ASSERT_EQ(ev.code, 0) << ev.err;
  EXPECT_NE(ev.out.find("\"episodes\":2"), std::string::npos) << ev.out;
  const GifInfo g = ParseGif(ReadBytes(gif));
  EXPECT_EQ(g.width, 48);
  EXPECT_EQ(g.height, 32);
  EXPECT_GE(g.frames.size(), 10u);
  EXPECT_NE(g.frames.front(), g.frames.back());

  const std::string mp4 = testing::TempDir() + "/mbrl_eval.mp4";
  fs::remove(mp4);
  auto ev_mp4 =
      Shell(bin + " eval " + dir + " --episodes 1 --video " + mp4 + " --width 48 --height 32");
  if (FfmpegAvailable()) {
    EXPECT_EQ(ev_mp4.code, 0) << ev_mp4.err;
    EXPECT_GT(fs::file_size(mp4), 100u);
  } else {
    EXPECT_NE(ev_mp4.code, 0);
    EXPECT_NE(ev_mp4.err.find("ffmpeg"), std::string::npos) << ev_mp4.err;
    EXPECT_EQ(std::count(ev_mp4.err.begin(), ev_mp4.err.end(), '\n'), 1) << ev_mp4.err;
  }
}

}  // namespace
}  // namespace mbrl
