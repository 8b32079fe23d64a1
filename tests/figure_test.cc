// Plots: the rasterizer draws what the figure says, the PNG is valid (chunks, CRCs, zlib stream)
// and decodes in PIL; `mbrl compare` writes a non-blank PNG next to each SVG.
#include "mbrl/analysis/figure.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "mbrl/core/check.h"
#include "tests/test_util.h"

namespace mbrl {
namespace {
namespace fs = std::filesystem;

struct Png {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

uint32_t Be32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | static_cast<uint8_t>(s[at + i]);
  return v;
}

// Our own strict reader: signature, chunk CRCs, IHDR (8-bit RGB), IDAT inflated, filter 0 rows.
Png Decode(const std::string& file) {
  Png png;
  EXPECT_EQ(file.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::string idat, order;
  for (size_t at = 8; at + 12 <= file.size();) {
    const uint32_t n = Be32(file, at);
    const std::string type = file.substr(at + 4, 4);
    EXPECT_LE(at + 12 + n, file.size()) << type;
    const auto* body = reinterpret_cast<const Bytef*>(file.data() + at + 4);
    EXPECT_EQ(Be32(file, at + 8 + n), crc32(0, body, n + 4)) << type << ": bad CRC";
    const std::string data = file.substr(at + 8, n);
    order += type + " ";
    if (type == "IHDR") {
      png.width = static_cast<int>(Be32(data, 0));
      png.height = static_cast<int>(Be32(data, 4));
      EXPECT_EQ(data.substr(8), std::string("\x08\x02\x00\x00\x00", 5));  // 8-bit RGB
    }
    if (type == "IDAT") idat += data;
    at += 12 + n;
  }
  EXPECT_EQ(order, "IHDR IDAT IEND ");
  const size_t stride = size_t(png.width) * 3 + 1;
  std::string raw(stride * png.height, '\0');
  uLongf len = raw.size();
  EXPECT_EQ(uncompress(reinterpret_cast<Bytef*>(raw.data()), &len,
                       reinterpret_cast<const Bytef*>(idat.data()), idat.size()),
            Z_OK);
  EXPECT_EQ(len, raw.size());
  for (int y = 0; y < png.height; ++y) {
    EXPECT_EQ(raw[y * stride], 0) << "row filter";
    png.rgb.insert(png.rgb.end(), raw.begin() + y * stride + 1, raw.begin() + (y + 1) * stride);
  }
  return png;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::array<int, 3> Pixel(const std::vector<uint8_t>& rgb, int w, int x, int y) {
  const size_t i = (size_t(y) * w + x) * 3;
  return {rgb[i], rgb[i + 1], rgb[i + 2]};
}

TEST(Figure, PngRoundTripsThePixels) {
  std::vector<uint8_t> rgb;
  for (int i = 0; i < 5 * 3 * 3; ++i) rgb.push_back(static_cast<uint8_t>(i * 37));
  const Png png = Decode(EncodePng(5, 3, rgb));
  EXPECT_EQ(png.width, 5);
  EXPECT_EQ(png.height, 3);
  EXPECT_EQ(png.rgb, rgb);
  EXPECT_THROW(EncodePng(5, 4, rgb), Error);
}

TEST(Figure, RasterizesFillsBandsLinesAndText) {
  Figure fig(120, 40);
  fig.Rect(10, 10, 20, 10, "#ff0000");
  fig.Rect(40, 10, 20, 10, "#0000ff", 0.2);  // a CI band: 20 % over white
  fig.Line(0, 35.5, 120, 35.5, "#00f", 1);
  fig.Text(70, 20, "42", 's');
  const auto rgb = Rasterize(fig);
  ASSERT_EQ(rgb.size(), 120u * 40 * 3);
  EXPECT_EQ(Pixel(rgb, 120, 20, 15), (std::array<int, 3>{255, 0, 0}));
  EXPECT_EQ(Pixel(rgb, 120, 50, 15), (std::array<int, 3>{204, 204, 255}));
  EXPECT_EQ(Pixel(rgb, 120, 60, 30), (std::array<int, 3>{255, 255, 255}));
  EXPECT_EQ(Pixel(rgb, 120, 5, 35), (std::array<int, 3>{0, 0, 255}));
  // the rectangle's edges are exact (no bleed outside [10, 30) x [10, 20))
  EXPECT_EQ(Pixel(rgb, 120, 9, 15), (std::array<int, 3>{255, 255, 255}));
  EXPECT_EQ(Pixel(rgb, 120, 30, 15), (std::array<int, 3>{255, 255, 255}));
  // "42": ink in its two 7x14 cells above the baseline, none elsewhere on those rows
  int ink = 0, stray = 0;
  for (int y = 6; y < 22; ++y)
    for (int x = 62; x < 120; ++x) {
      const bool dark = Pixel(rgb, 120, x, y)[0] < 128;
      (x >= 70 && x < 84 ? ink : stray) += dark;
    }
  EXPECT_GT(ink, 15);
  EXPECT_EQ(stray, 0);
}

TEST(Figure, SvgHasTheShapesAndEscapesText) {
  Figure fig(50, 20);
  fig.Polyline({{0, 1}, {2, 3}}, "#123456", 2);
  fig.Text(1, 2, "a<b & c", 'm');
  const std::string svg = ToSvg(fig);
  EXPECT_NE(svg.find("points='0.0,1.0 2.0,3.0' fill='none' stroke='#123456' stroke-width='2'"),
            std::string::npos)
      << svg;
  EXPECT_NE(svg.find("text-anchor='middle'>a&lt;b &amp; c</text>"), std::string::npos) << svg;
}

TEST(Figure, NiceTicksAreRound) {
  using V = std::vector<double>;
  EXPECT_EQ(NiceTicks(0, 98765), (V{0, 20000, 40000, 60000, 80000, 100000}));
  EXPECT_EQ(NiceTicks(-130, 1020, 7), (V{-250, 0, 250, 500, 750, 1000, 1250}));
  EXPECT_EQ(NiceTicks(-130, 1020, 8), (V{-200, 0, 200, 400, 600, 800, 1000, 1200}));
  EXPECT_EQ(NiceTicks(0, 1000, 5), (V{0, 250, 500, 750, 1000}));
  EXPECT_EQ(NiceTicks(0, 40000, 7), (V{0, 10000, 20000, 30000, 40000}));
  EXPECT_EQ(NiceTicks(0, 1.5e6, 4), (V{0, 500000, 1000000, 1500000}));
  EXPECT_EQ(NiceTicks(1020, -130, 8), NiceTicks(-130, 1020, 8));
  EXPECT_EQ(NiceTicks(7, 7), (V{6, 6.5, 7, 7.5, 8}));  // one value: a range around it
  EXPECT_EQ(NiceTicks(0, 0), (V{-1, -0.5, 0, 0.5, 1}));
  const V small = NiceTicks(0.013, 0.087, 5);  // steps below 1: 0.025
  ASSERT_EQ(small.size(), 5u);
  for (size_t i = 0; i < small.size(); ++i) EXPECT_DOUBLE_EQ(small[i], 0.025 * i);
  // any range: at most max_ticks ticks covering it, the step 1, 2, 2.5 or 5 x 10^k
  for (auto [lo, hi] : {std::pair{-3.7, 12.1}, {0.0, 3517.0}, {158.0, 161.0}, {-1e7, 2.3e7}}) {
    const V t = NiceTicks(lo, hi, 6);
    ASSERT_GE(t.size(), 2u);
    EXPECT_LE(t.size(), 6u);
    EXPECT_LE(t.front(), lo);
    EXPECT_GE(t.back(), hi);
    const double step = t[1] - t[0], mantissa = step / std::pow(10, std::floor(std::log10(step)));
    EXPECT_TRUE(std::set<double>({1, 2, 2.5, 5}).count(std::round(mantissa * 10) / 10)) << step;
  }
  EXPECT_THROW(NiceTicks(0, NAN), Error);
}

TEST(Figure, TickLabelsAreCompact) {
  using S = std::vector<std::string>;
  EXPECT_EQ(TickLabels({0, 20000, 40000, 60000, 80000, 100000}),
            (S{"0", "20k", "40k", "60k", "80k", "100k"}));
  EXPECT_EQ(TickLabels({0, 2500, 5000, 7500, 10000}), (S{"0", "2.5k", "5k", "7.5k", "10k"}));
  EXPECT_EQ(TickLabels({0, 500000, 1000000, 1500000}), (S{"0", "0.5M", "1M", "1.5M"}));
  EXPECT_EQ(TickLabels({-250, 0, 250, 500, 750, 1000, 1250}),
            (S{"-250", "0", "250", "500", "750", "1000", "1250"}));
  EXPECT_EQ(TickLabels(NiceTicks(0.013, 0.087, 5)), (S{"0", "0.025", "0.05", "0.075", "0.1"}));
  EXPECT_EQ(TickLabels({-1, -0.5, 0, 0.5, 1}), (S{"-1", "-0.5", "0", "0.5", "1"}));
}

TEST(Figure, VerticalTextReadsBottomToTop) {
  Figure fig(40, 80);
  fig.VerticalText(20, 40, "ab");  // 14 px of text centred on y = 40, glyphs left of x = 23
  EXPECT_NE(ToSvg(fig).find("text-anchor='middle' transform='rotate(-90 20.0 40.0)'>ab</text>"),
            std::string::npos)
      << ToSvg(fig);
  const auto rgb = Rasterize(fig);
  int x0 = 40, x1 = 0, y0 = 80, y1 = 0;
  for (int y = 0; y < 80; ++y)
    for (int x = 0; x < 40; ++x)
      if (Pixel(rgb, 40, x, y)[0] < 128)
        x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  EXPECT_GE(x0, 9);  // ascent 11 px left of the baseline, descent 3 px right of it
  EXPECT_LE(x1, 22);
  EXPECT_GE(y0, 33);
  EXPECT_LE(y1, 46);
  EXPECT_GT(y1 - y0, x1 - x0);  // taller than wide: "ab" runs up
  // 'a' (bottom half) has no ascender, 'b' (top half) has one: ink further left in the top half
  int left_top = 40, left_bottom = 40;
  for (int y = 33; y < 47; ++y)
    for (int x = 0; x < 40; ++x)
      if (Pixel(rgb, 40, x, y)[0] < 128)
        (y < 40 ? left_top : left_bottom) = std::min(y < 40 ? left_top : left_bottom, x);
  EXPECT_LT(left_top, left_bottom);
}

// mbrl compare on two synthetic groups: each SVG has a PNG of the same size that is not blank,
// shows the groups' colours, and decodes in PIL; the reports reference the PNGs
TEST(Figure, CompareWritesPngPlots) {
  const std::string root = testing::TempDir() + "/mbrl_compare_png";
  fs::remove_all(root);
  for (int s = 0; s < 3; ++s)
    for (const char* agent : {"pets", "sac"}) {
      const std::string dir = root + "/" + agent + std::to_string(s);
      fs::create_directories(dir);
      std::ofstream(dir + "/config.json")
          << nlohmann::json{{"agent", agent}, {"seed", s}, {"env", {{"name", "hopper"}}}}.dump();
      std::ofstream m(dir + "/metrics.jsonl");
      for (int e = 1; e <= 20; ++e)
        m << nlohmann::json{{"env_step", 100 * e}, {"episode", e}, {"return", e * (s + 1.0)}}.dump()
          << "\n";
    }
  const std::string out = root + "/report";
  auto r = Shell(std::string(MBRL_BINARY) + " compare " + root + "/pets* " + root + "/sac* --out " +
                 out);
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* name : {"curves_hopper", "final_hopper"}) {
    const std::string path = out + "/" + name + ".png";
    ASSERT_TRUE(fs::exists(path)) << path;
    const Png png = Decode(ReadBytes(path));
    EXPECT_EQ(png.width, 640);
    EXPECT_NE(
        ReadBytes(out + "/" + name + ".svg").find("height='" + std::to_string(png.height) + "'"),
        std::string::npos);
    std::set<std::array<int, 3>> colours;
    for (size_t i = 0; i < png.rgb.size(); i += 3)
      colours.insert({png.rgb[i], png.rgb[i + 1], png.rgb[i + 2]});
    EXPECT_GT(colours.size(), 20u) << name;  // not blank: lines, bands, anti-aliased text
    EXPECT_TRUE(colours.count({0x1f, 0x77, 0xb4}) || colours.count({0x62, 0xa0, 0xcb}))
        << name << ": first group's colour (solid or 70 % bar) missing";
    if (Shell("/usr/bin/python3 -c 'import PIL'").code == 0) {
      auto pil = Shell("/usr/bin/python3 -c \"from PIL import Image; im = Image.open('" + path +
                       "'); im.load(); print(im.mode, im.size[0], im.size[1])\"");
      EXPECT_EQ(pil.code, 0) << pil.err;
      EXPECT_EQ(pil.out, "RGB 640 " + std::to_string(png.height) + "\n");
    }
  }
  const std::string md = ReadBytes(out + "/report.md"), html = ReadBytes(out + "/report.html");
  EXPECT_NE(md.find("![learning curves](curves_hopper.png)"), std::string::npos);
  EXPECT_NE(md.find("![final scores](final_hopper.png)"), std::string::npos);
  EXPECT_NE(html.find("href='curves_hopper.png'"), std::string::npos);
}

}  // namespace
}  // namespace mbrl
