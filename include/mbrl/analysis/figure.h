#pragma once
/// Plots as a list of primitives in pixel coordinates (y down), written both as SVG and, through
/// our own rasterizer (coverage anti-aliasing, built-in bitmap font) and PNG encoder, as PNG.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace mbrl {

struct Figure {
  using Point = std::array<double, 2>;
  struct Shape {
    enum Kind { kPolyline, kPolygon, kText } kind = kPolyline;
    std::vector<Point> points;   // kText: one point, the start/middle/end of the baseline
    std::string color = "#000";  // #rgb or #rrggbb
    double opacity = 1;
    double width = 1;  // polyline stroke width
    std::string text;
    char anchor = 's';      // text: 's'tart, 'm'iddle, 'e'nd
    double size = 12;       // font size (SVG; the PNG font has one size)
    bool vertical = false;  // text: turned 90 degrees counter-clockwise (reads bottom to top)
  };

  Figure(double w, double h) : width(w), height(h) {}
  void Polyline(std::vector<Point> points, const std::string& color, double stroke = 1,
                double opacity = 1);
  void Line(double x0, double y0, double x1, double y1, const std::string& color,
            double stroke = 1) {
    Polyline({{x0, y0}, {x1, y1}}, color, stroke);
  }
  void Polygon(std::vector<Point> points, const std::string& color, double opacity = 1);
  void Rect(double x, double y, double w, double h, const std::string& color, double opacity = 1);
  void Text(double x, double y, const std::string& text, char anchor = 's',
            const std::string& color = "#000", double size = 12);
  /// Text reading bottom to top; (x, y) is on its baseline, `anchor` along the text.
  void VerticalText(double x, double y, const std::string& text, char anchor = 'm');

  double width, height;
  std::vector<Shape> shapes;  // drawn in order, over a white background
};

/// Round tick values covering [lo, hi]: the multiples of the smallest step 1, 2, 2.5 or 5 x 10^k
/// that needs at most `max_ticks` (>= 2) ticks; the first tick <= lo, the last >= hi.
std::vector<double> NiceTicks(double lo, double hi, int max_ticks = 6);

/// Compact labels for ticks such as NiceTicks' ("0", "250", "20k", "1.5M"): one unit for all,
/// k when the largest |tick| is >= 10^4, M when >= 10^6; no trailing zeros.
std::vector<std::string> TickLabels(const std::vector<double>& ticks);

/// `s` with &, < and > escaped (SVG and HTML text).
std::string EscapeXml(const std::string& s);

/// SVG document of the figure.
std::string ToSvg(const Figure& fig);

/// The figure drawn into 8-bit RGB rows (round(width) x round(height) pixels).
std::vector<uint8_t> Rasterize(const Figure& fig);

/// PNG file bytes of 8-bit RGB rows (colour type 2, zlib-compressed, CRC32 per chunk).
std::string EncodePng(int width, int height, const std::vector<uint8_t>& rgb);

/// Rasterize + EncodePng.
std::string ToPng(const Figure& fig);

}  // namespace mbrl
