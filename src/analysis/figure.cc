#include "mbrl/analysis/figure.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "mbrl/core/check.h"

namespace mbrl {
namespace {

#include "font_data.inc"

std::string Num(double v) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.1f", v);
  return b;
}

struct Rgb {
  double r, g, b;
};

Rgb ParseColor(const std::string& c) {
  const bool short_form = c.size() == 4;
  MBRL_CHECK(c.size() > 1 && c[0] == '#' && (short_form || c.size() == 7), "bad colour '", c, "'");
  auto hex = [&](size_t i, size_t n) { return std::stoi(c.substr(i, n), nullptr, 16); };
  if (short_form) return {hex(1, 1) * 17.0, hex(2, 1) * 17.0, hex(3, 1) * 17.0};
  return {double(hex(1, 2)), double(hex(3, 2)), double(hex(5, 2))};
}

// RGB pixels plus a per-shape coverage mask: a shape's coverage is accumulated (max for strokes,
// summed sub-scanlines for fills) and blended once, so overlapping parts do not darken.
class Canvas {
 public:
  Canvas(int w, int h) : w_(w), h_(h), rgb_(size_t(w) * h * 3, 255), mask_(size_t(w) * h, 0) {}

  void Stroke(const std::vector<Figure::Point>& pts, double width) {
    const double r = width / 2;
    for (size_t i = 0; i + 1 < pts.size(); ++i) {
      const auto [ax, ay] = pts[i];
      const auto [bx, by] = pts[i + 1];
      const int x0 = Clip(std::floor(std::min(ax, bx) - r - 1), w_);
      const int x1 = Clip(std::ceil(std::max(ax, bx) + r + 1), w_);
      const int y0 = Clip(std::floor(std::min(ay, by) - r - 1), h_);
      const int y1 = Clip(std::ceil(std::max(ay, by) + r + 1), h_);
      const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
      for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x) {
          const double px = x + 0.5 - ax, py = y + 0.5 - ay;
          const double t = len2 > 0 ? std::clamp((px * dx + py * dy) / len2, 0.0, 1.0) : 0.0;
          const double d = std::hypot(px - t * dx, py - t * dy);
          Cover(x, y, std::clamp(r + 0.5 - d, 0.0, 1.0), false);
        }
    }
  }

  // even-odd fill, 4 sub-scanlines per pixel row, exact horizontal coverage
  void Fill(const std::vector<Figure::Point>& pts) {
    constexpr int kSub = 4;
    std::vector<double> xs;
    for (int y = 0; y < h_; ++y)
      for (int s = 0; s < kSub; ++s) {
        const double sy = y + (s + 0.5) / kSub;
        xs.clear();
        for (size_t i = 0; i < pts.size(); ++i) {
          const auto [ax, ay] = pts[i];
          const auto [bx, by] = pts[(i + 1) % pts.size()];
          if ((ay <= sy) != (by <= sy)) xs.push_back(ax + (sy - ay) / (by - ay) * (bx - ax));
        }
        std::sort(xs.begin(), xs.end());
        for (size_t i = 0; i + 1 < xs.size(); i += 2) Span(y, xs[i], xs[i + 1], 1.0 / kSub);
      }
  }

  // text in the bitmap font, turned 90 degrees counter-clockwise about (x, y) if `vertical`
  void Glyphs(double x, double y, const std::string& text, char anchor, bool vertical) {
    const std::string ascii = Ascii(text);
    const int w = static_cast<int>(ascii.size()) * kGlyphW;
    const int shift = anchor == 'm' ? w / 2 : anchor == 'e' ? w : 0;
    const int ox = static_cast<int>(std::lround(x)), oy = static_cast<int>(std::lround(y));
    for (size_t k = 0; k < ascii.size(); ++k) {
      const char* const* glyph = kGlyphs[ascii[k] - 32];
      for (int gy = 0; gy < kGlyphH; ++gy)
        for (int gx = 0; gx < kGlyphW; ++gx) {
          const char h = glyph[gy][gx];
          const int v = h <= '9' ? h - '0' : h - 'A' + 10;
          // pixel offsets along the baseline and down from it
          const int along = static_cast<int>(k) * kGlyphW + gx - shift, down = gy - kGlyphAscent;
          const int px = vertical ? ox + down : ox + along;
          const int py = vertical ? oy - along - 1 : oy + down;
          if (v > 0 && px >= 0 && px < w_ && py >= 0 && py < h_) Cover(px, py, v / 15.0, false);
        }
    }
  }

  // blends the accumulated mask in `color` at `opacity` and clears it
  void Paint(const Rgb& c, double opacity) {
    for (size_t i = 0; i < mask_.size(); ++i) {
      const double a = std::min(1.0, static_cast<double>(mask_[i])) * opacity;
      if (a <= 0) continue;
      uint8_t* p = &rgb_[i * 3];
      p[0] = static_cast<uint8_t>(std::lround(p[0] + (c.r - p[0]) * a));
      p[1] = static_cast<uint8_t>(std::lround(p[1] + (c.g - p[1]) * a));
      p[2] = static_cast<uint8_t>(std::lround(p[2] + (c.b - p[2]) * a));
      mask_[i] = 0;
    }
  }

  std::vector<uint8_t> Take() { return std::move(rgb_); }

 private:
  // UTF-8 dashes become '-', other non-ASCII '?'
  static std::string Ascii(const std::string& text) {
    std::string ascii;
    for (size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c < 0x80) {
        ascii += c >= 32 && c < 127 ? static_cast<char>(c) : '?';
      } else if (c >= 0xC0) {
        ascii += text.compare(i, 3, "\xE2\x80\x94") == 0 || text.compare(i, 3, "\xE2\x80\x93") == 0
                     ? '-'
                     : '?';
      }
    }
    return ascii;
  }

  static int Clip(double v, int n) { return static_cast<int>(std::clamp(v, 0.0, double(n))); }

  void Cover(int x, int y, double a, bool add) {
    float& m = mask_[size_t(y) * w_ + x];
    m = add ? m + static_cast<float>(a) : std::max(m, static_cast<float>(a));
  }

  // adds `weight` x the coverage of [x0, x1) to the pixels of row y
  void Span(int y, double x0, double x1, double weight) {
    x0 = std::clamp(x0, 0.0, double(w_));
    x1 = std::clamp(x1, 0.0, double(w_));
    for (int x = static_cast<int>(x0); x < w_ && x < x1; ++x)
      Cover(x, y, weight * (std::min(x1, x + 1.0) - std::max(x0, double(x))), true);
  }

  int w_, h_;
  std::vector<uint8_t> rgb_;
  std::vector<float> mask_;
};

void Chunk(std::string* png, const char* type, const std::string& data) {
  const auto be32 = [png](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) png->push_back(static_cast<char>((v >> s) & 0xFF));
  };
  be32(static_cast<uint32_t>(data.size()));
  const std::string body = type + data;
  png->append(body);
  be32(static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

}  // namespace

void Figure::Polyline(std::vector<Point> points, const std::string& color, double stroke,
                      double opacity) {
  Shape s;
  s.kind = Shape::kPolyline;
  s.points = std::move(points);
  s.color = color;
  s.width = stroke;
  s.opacity = opacity;
  shapes.push_back(std::move(s));
}

void Figure::Polygon(std::vector<Point> points, const std::string& color, double opacity) {
  Shape s;
  s.kind = Shape::kPolygon;
  s.points = std::move(points);
  s.color = color;
  s.opacity = opacity;
  shapes.push_back(std::move(s));
}

void Figure::Rect(double x, double y, double w, double h, const std::string& color,
                  double opacity) {
  Polygon({{x, y}, {x + w, y}, {x + w, y + h}, {x, y + h}}, color, opacity);
}

void Figure::Text(double x, double y, const std::string& text, char anchor,
                  const std::string& color, double size) {
  Shape s;
  s.kind = Shape::kText;
  s.points = {{x, y}};
  s.text = text;
  s.anchor = anchor;
  s.color = color;
  s.size = size;
  shapes.push_back(std::move(s));
}

void Figure::VerticalText(double x, double y, const std::string& text, char anchor) {
  Text(x, y, text, anchor);
  shapes.back().vertical = true;
}

std::vector<double> NiceTicks(double lo, double hi, int max_ticks) {
  MBRL_CHECK(std::isfinite(lo) && std::isfinite(hi) && max_ticks >= 2, "NiceTicks(", lo, ", ", hi,
             ", ", max_ticks, "): need finite bounds and max_ticks >= 2");
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) {  // one value: a range around it
    const double d = lo == 0 ? 1 : std::abs(lo) / 10;
    lo -= d, hi += d;
  }
  constexpr double kTol = 1e-9;  // lo or hi a rounding error off a multiple of the step
  for (int e = static_cast<int>(std::floor(std::log10((hi - lo) / max_ticks))) - 1;; ++e)
    for (double m : {1.0, 2.0, 2.5, 5.0}) {
      const double p = std::pow(10.0, std::abs(e)), step = e >= 0 ? m * p : m / p;
      const double first = std::floor(lo / step + kTol), last = std::ceil(hi / step - kTol);
      if (last - first + 1 > max_ticks) continue;
      std::vector<double> ticks;
      for (double k = first; k <= last; ++k) ticks.push_back(e >= 0 ? k * m * p : k * m / p);
      return ticks;
    }
}

std::vector<std::string> TickLabels(const std::vector<double>& ticks) {
  double top = 0;
  for (double t : ticks) top = std::max(top, std::abs(t));
  const double unit = top >= 1e6 ? 1e6 : top >= 1e4 ? 1e3 : 1;
  const char* suffix = top >= 1e6 ? "M" : top >= 1e4 ? "k" : "";
  const double step = ticks.size() > 1 ? std::abs(ticks[1] - ticks[0]) / unit : 1;
  int digits = 0;  // decimals that show the step exactly
  while (digits < 6 &&
         std::abs(step * std::pow(10, digits) - std::round(step * std::pow(10, digits))) > 1e-6)
    ++digits;
  std::vector<std::string> labels;
  for (double t : ticks) {
    char b[64];
    std::snprintf(b, sizeof(b), "%.*f", digits, t / unit);
    std::string s = b;
    if (s.find('.') != std::string::npos) s.erase(s.find_last_not_of('0') + 1);  // 2.50 -> 2.5
    if (s.back() == '.') s.pop_back();
    if (s == "-0") s = "0";
    labels.push_back(s == "0" ? s : s + suffix);
  }
  return labels;
}

std::string EscapeXml(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else
      out += c;
  }
  return out;
}

std::string ToSvg(const Figure& fig) {
  std::ostringstream o;
  o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << fig.width << "' height='" << fig.height
    << "' font-family='sans-serif' font-size='12'>\n"
    << "<rect width='100%' height='100%' fill='white'/>\n";
  for (const auto& s : fig.shapes) {
    std::string pts;
    for (const auto& [x, y] : s.points) pts += (pts.empty() ? "" : " ") + Num(x) + "," + Num(y);
    const std::string opacity = s.opacity < 1 ? Num(s.opacity) : "";
    switch (s.kind) {
      case Figure::Shape::kPolyline:
        o << "<polyline points='" << pts << "' fill='none' stroke='" << s.color
          << "' stroke-width='" << s.width << "'"
          << (opacity.empty() ? "" : " stroke-opacity='" + opacity + "'") << "/>\n";
        break;
      case Figure::Shape::kPolygon:
        o << "<polygon points='" << pts << "' fill='" << s.color << "'"
          << (opacity.empty() ? "" : " fill-opacity='" + opacity + "'") << "/>\n";
        break;
      case Figure::Shape::kText:
        o << "<text x='" << Num(s.points[0][0]) << "' y='" << Num(s.points[0][1]) << "'"
          << (s.anchor == 'm'   ? " text-anchor='middle'"
              : s.anchor == 'e' ? " text-anchor='end'"
                                : "")
          << (s.color != "#000" ? " fill='" + s.color + "'" : "")
          << (s.size != 12 ? " font-size='" + Num(s.size) + "'" : "")
          << (s.vertical ? " transform='rotate(-90 " + Num(s.points[0][0]) + " " +
                               Num(s.points[0][1]) + ")'"
                         : "")
          << ">" << EscapeXml(s.text) << "</text>\n";
        break;
    }
  }
  o << "</svg>\n";
  return o.str();
}

std::vector<uint8_t> Rasterize(const Figure& fig) {
  Canvas c(static_cast<int>(std::lround(fig.width)), static_cast<int>(std::lround(fig.height)));
  for (const auto& s : fig.shapes) {
    if (s.kind == Figure::Shape::kPolyline) c.Stroke(s.points, s.width);
    if (s.kind == Figure::Shape::kPolygon) c.Fill(s.points);
    if (s.kind == Figure::Shape::kText)
      c.Glyphs(s.points[0][0], s.points[0][1], s.text, s.anchor, s.vertical);
    c.Paint(ParseColor(s.color), s.opacity);
  }
  return c.Take();
}

std::string EncodePng(int width, int height, const std::vector<uint8_t>& rgb) {
  MBRL_CHECK(width > 0 && height > 0 && rgb.size() == size_t(width) * height * 3, "png: expected ",
             width, "x", height, " RGB pixels, got ", rgb.size(), " bytes");
  std::string raw;  // each row: filter type 0 (none), then the row
  raw.reserve((size_t(width) * 3 + 1) * height);
  for (int y = 0; y < height; ++y) {
    raw.push_back(0);
    raw.append(reinterpret_cast<const char*>(&rgb[size_t(y) * width * 3]), size_t(width) * 3);
  }
  uLongf n = compressBound(static_cast<uLong>(raw.size()));
  std::string z(n, '\0');
  MBRL_CHECK(
      compress2(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(raw.data()),
                static_cast<uLong>(raw.size()), 9) == Z_OK,
      "png: zlib compression failed");
  z.resize(n);
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  for (uint32_t v : {uint32_t(width), uint32_t(height)})
    for (int s = 24; s >= 0; s -= 8) ihdr.push_back(static_cast<char>((v >> s) & 0xFF));
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB, deflate, no filter/interlace
  Chunk(&png, "IHDR", ihdr);
  Chunk(&png, "IDAT", z);
  Chunk(&png, "IEND", "");
  return png;
}

std::string ToPng(const Figure& fig) {
  return EncodePng(static_cast<int>(std::lround(fig.width)),
                   static_cast<int>(std::lround(fig.height)), Rasterize(fig));
}

}  // namespace mbrl
