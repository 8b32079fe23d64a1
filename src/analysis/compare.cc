#include "mbrl/analysis/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "mbrl/analysis/figure.h"
#include "mbrl/core/check.h"
#include "mbrl/logging/metrics_writer.h"

namespace mbrl {
namespace fs = std::filesystem;
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// config keys that differ between seeds of one experiment, not between experiments
const std::set<std::string> kRunLocal = {"seed",   "runs_dir",         "progress",
                                         "device", "checkpoint_every", "total_env_steps"};

void Flatten(const nlohmann::json& j, const std::string& prefix,
             std::map<std::string, std::string>* out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) Flatten(v, prefix.empty() ? k : prefix + "." + k, out);
  } else {
    (*out)[prefix] = j.dump();
  }
}

std::string Fmt(double v, int digits = 1) {
  if (std::isnan(v)) return "—";
  char b[64];
  std::snprintf(b, sizeof(b), "%.*f", digits, v);
  return b;
}

std::string Name(const Group& g) { return g.agent + (g.label.empty() ? "" : " [" + g.label + "]"); }

// "(n=5)", or "(n=2, no CI)" below kMinCiSeeds seeds
std::string SeedsNote(size_t n) {
  return "(n=" + std::to_string(n) + (n < kMinCiSeeds ? ", no CI)" : ")");
}

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                         "#9467bd", "#8c564b", "#e377c2", "#17becf"};
const char* kGrid = "#e6e6e6";
constexpr double kCharW = 7;  // glyph width of the PNG font

// `text` cut to `width` pixels of PNG font, "..." marking the cut
std::string Fit(const std::string& text, double width) {
  const size_t n = static_cast<size_t>(width / kCharW);
  if (text.size() <= n || n < 3) return text;
  size_t cut = n - 3;
  while (cut > 0 && (text[cut] & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
  return text.substr(0, cut) + "...";
}

using Aggregate = std::function<double(const std::vector<double>&)>;

// 95 % bootstrap CI over seeds; NaNs with fewer than kMinCiSeeds scores
Interval SeedCi(const std::vector<double>& v, const Aggregate& aggregate) {
  if (v.size() < kMinCiSeeds) return {kNaN, kNaN};
  return StratifiedBootstrapCi({v}, aggregate);
}

// the scores of the group's runs at `step` (runs without one left out)
std::vector<double> ScoresAt(const Group& g, int64_t step) {
  std::vector<double> v;
  for (const auto& r : g.runs)
    if (double x = ScoreAt(r, step); !std::isnan(x)) v.push_back(x);
  return v;
}

// widens [*lo, *hi] to hold v (NaN ignored)
void Extend(double v, double* lo, double* hi) {
  if (!std::isnan(v)) *lo = std::min(*lo, v), *hi = std::max(*hi, v);
}

// A value axis drawn from pixel p0 to p1: NiceTicks over [lo, hi]; it ends at the outer ticks or
// `margin` x (hi - lo) beyond the data, whichever is nearer (no tick-wide empty strips).
struct Axis {
  Axis(double lo, double hi, int max_ticks, double margin, double p0, double p1) : p0(p0), p1(p1) {
    const std::vector<double> t = NiceTicks(lo, hi, max_ticks);
    const double pad = margin * (hi > lo ? hi - lo : t.back() - t.front());
    from = std::max(t.front(), lo - pad);
    to = std::min(t.back(), hi + pad);
    for (double v : t)
      if (v >= from && v <= to) ticks.push_back(v);
  }
  double operator()(double v) const { return p0 + (p1 - p0) * (v - from) / (to - from); }
  std::vector<double> ticks;
  double from, to, p0, p1;
};

// the axis along pixel row y with grid lines up to row `top`, tick labels and `label` below
void DrawXAxis(Figure* fig, const Axis& x, double top, double y, const std::string& label) {
  const auto labels = TickLabels(x.ticks);
  for (size_t i = 0; i < x.ticks.size(); ++i) {
    const double px = x(x.ticks[i]);
    fig->Line(px, top, px, y, kGrid);
    fig->Line(px, y, px, y + 4, "#000");
    fig->Text(px, y + 17, labels[i], 'm');
  }
  fig->Line(x.p0, y, x.p1, y, "#000");
  fig->Text((x.p0 + x.p1) / 2, y + 34, label, 'm');
}

// the axis along pixel column x with grid lines up to column `right`, tick labels and a
// vertical `label` to the left
void DrawYAxis(Figure* fig, const Axis& y, double x, double right, const std::string& label) {
  const auto labels = TickLabels(y.ticks);
  size_t widest = 0;
  for (size_t i = 0; i < y.ticks.size(); ++i) {
    const double py = y(y.ticks[i]);
    fig->Line(x, py, right, py, kGrid);
    fig->Line(x - 4, py, x, py, "#000");
    fig->Text(x - 7, py + 4, labels[i], 'e');
    widest = std::max(widest, labels[i].size());
  }
  fig->Line(x, y.p0, x, y.p1, "#000");
  fig->VerticalText(x - 16 - kCharW * widest, (y.p0 + y.p1) / 2, label);
}

// One group's learning curve: mean over seeds per grid step, CI bounds NaN where n < 3.
struct Curve {
  std::vector<double> mean, lo, hi;
};

Curve CurveOf(const Group& g, const std::vector<int64_t>& grid) {
  Curve c;
  for (int64_t s : grid) {
    const std::vector<double> v = ScoresAt(g, s);
    const Interval ci = SeedCi(v, Mean);
    c.mean.push_back(Mean(v));
    c.lo.push_back(ci.lo);
    c.hi.push_back(ci.hi);
  }
  return c;
}

// the CI band: one polygon per stretch of grid steps that have a CI
void DrawBand(Figure* fig, const Curve& c, const std::vector<double>& xs, const Axis& y,
              const char* color) {
  std::vector<Figure::Point> top, bottom;
  auto flush = [&] {
    if (!top.empty()) {
      top.insert(top.end(), bottom.rbegin(), bottom.rend());
      fig->Polygon(top, color, 0.2);
    }
    top.clear(), bottom.clear();
  };
  for (size_t i = 0; i < xs.size(); ++i) {
    if (std::isnan(c.lo[i])) {
      flush();
      continue;
    }
    top.push_back({xs[i], y(c.hi[i])});
    bottom.push_back({xs[i], y(c.lo[i])});
  }
  flush();
}

// Learning curves of the groups of one task: mean over seeds with a 95 % bootstrap band (n >= 3)
// and a legend below the plot.
Figure CurveFigure(const std::string& task, const std::vector<const Group*>& groups,
                   const std::vector<int64_t>& grid) {
  constexpr double W = 640, L = 72, R = 20, T = 30, B = 330, kRow = 16;
  std::vector<Curve> curves;
  double lo = INFINITY, hi = -INFINITY;
  for (const Group* g : groups) {
    curves.push_back(CurveOf(*g, grid));
    for (const auto* v : {&curves.back().mean, &curves.back().lo, &curves.back().hi})
      for (double x : *v) Extend(x, &lo, &hi);
  }
  if (lo > hi) lo = 0, hi = 1;
  const Axis x(0, static_cast<double>(std::max<int64_t>(1, grid.back())), 7, 0, L, W - R);
  const Axis y(lo, hi, 8, 0.04, B, T);
  Figure fig(W, B + 44 + kRow * groups.size());
  fig.Text(W / 2, 18, task, 'm', "#000", 14);
  DrawXAxis(&fig, x, T, B, "env steps");
  DrawYAxis(&fig, y, L, W - R, "return");
  std::vector<double> xs;
  for (int64_t s : grid) xs.push_back(x(static_cast<double>(s)));
  for (size_t k = 0; k < curves.size(); ++k) {
    const char* c = kColors[k % 8];
    DrawBand(&fig, curves[k], xs, y, c);
    std::vector<Figure::Point> path;
    for (size_t i = 0; i < xs.size(); ++i)
      if (!std::isnan(curves[k].mean[i])) path.push_back({xs[i], y(curves[k].mean[i])});
    fig.Polyline(path, c, 2);
    const double ly = B + 52 + kRow * k;  // legend row baseline
    fig.Line(L, ly - 4, L + 24, ly - 4, c, 2);
    fig.Text(L + 30, ly,
             Fit(Name(*groups[k]) + " " + SeedsNote(groups[k]->runs.size()), W - L - 30));
  }
  return fig;
}

// One group's final scores (one per run that has one) and their statistics.
struct GroupStats {
  std::vector<double> scores;
  int64_t step_lo = 0, step_hi = 0;  // range of the env steps of the final scores
  std::string sources;               // "final eval", or e.g. "final eval (2), last eval (1)"
  double mean = kNaN, iqm = kNaN;
  Interval mean_ci{kNaN, kNaN}, iqm_ci{kNaN, kNaN};
  double wall = 0, rate = 0;  // mean wall-clock seconds and env steps per second
};

GroupStats StatsOf(const Group& g) {
  int64_t common = INT64_MAX;  // the last step all runs without a final evaluation have a score at
  for (const auto& r : g.runs)
    if (!r.has_final) common = std::min(common, r.steps.empty() ? 0 : r.steps.back());
  GroupStats s;
  std::map<std::string, int> count;  // alphabetical = final eval, last eval, training returns
  for (const auto& r : g.runs) {
    s.wall += r.wall_time / g.runs.size();
    if (r.wall_time > 0 && !r.steps.empty()) s.rate += r.steps.back() / r.wall_time / g.runs.size();
    const FinalScore f = FinalOf(r, common);
    if (std::isnan(f.score)) continue;
    s.step_lo = s.scores.empty() ? f.step : std::min(s.step_lo, f.step);
    s.step_hi = std::max(s.step_hi, f.step);
    s.scores.push_back(f.score);
    ++count[f.source];
  }
  for (const auto& [source, n] : count)
    s.sources += (s.sources.empty() ? "" : ", ") + source +
                 (count.size() > 1 ? " (" + std::to_string(n) + ")" : "");
  s.mean = Mean(s.scores);
  s.iqm = Iqm(s.scores);
  s.mean_ci = SeedCi(s.scores, Mean);
  s.iqm_ci = SeedCi(s.scores, Iqm);
  return s;
}

std::string StepRange(const GroupStats& s) {
  if (s.scores.empty()) return "—";
  return std::to_string(s.step_lo) +
         (s.step_hi > s.step_lo ? "–" + std::to_string(s.step_hi) : std::string());
}

// "20.0 [15.2, 24.8]"; "7.0 [n<3]" without a CI
std::string WithCi(double v, const Interval& ci) {
  if (std::isnan(v)) return "—";
  return Fmt(v) + (std::isnan(ci.lo) ? " [n<3]" : " [" + Fmt(ci.lo) + ", " + Fmt(ci.hi) + "]");
}

struct Bar {
  std::string name;
  double mean;
  Interval ci;
};

// Final scores of the groups of one task: a bar per group (mean) with its 95 % CI as a whisker
// (n >= 3), the group's name above it.
Figure BarsFigure(const std::string& task, const std::vector<Bar>& bars) {
  constexpr double W = 640, L = 20, R = 70, T = 34, kRow = 36;
  const double B = T + kRow * bars.size() + 6;
  double lo = 0, hi = 0;
  for (const Bar& b : bars)
    for (double v : {b.mean, b.ci.lo, b.ci.hi}) Extend(v, &lo, &hi);
  const Axis x(lo, hi, 7, 1, L, W - R);
  Figure fig(W, B + 42);
  fig.Text(W / 2, 18, task + ": final return (mean over seeds, 95 % CI)", 'm', "#000", 14);
  DrawXAxis(&fig, x, T, B, "final return");
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double y = T + kRow * i;
    fig.Text(L, y + 13, Fit(b.name, W - L));
    if (std::isnan(b.mean)) continue;
    fig.Rect(std::min(x(0), x(b.mean)), y + 17, std::abs(x(b.mean) - x(0)), 14, kColors[i % 8],
             0.7);
    if (!std::isnan(b.ci.lo)) fig.Line(x(b.ci.lo), y + 24, x(b.ci.hi), y + 24, "#000", 2);
    const double right = std::max({0.0, b.mean, std::isnan(b.ci.hi) ? b.mean : b.ci.hi});
    fig.Text(x(right) + 4, y + 28, Fmt(b.mean));  // right of the bar and its whisker
  }
  fig.Line(x(0), T, x(0), B, "#808080");
  return fig;
}

Bar BarOf(const Group& g, const GroupStats& s) {
  std::string name = Name(g) + " " + SeedsNote(g.runs.size());
  if (!s.scores.empty()) name += ": " + s.sources + " at " + StepRange(s) + " env steps";
  return {name, s.mean, s.mean_ci};
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  MBRL_CHECK(f.good(), path, ": cannot write");
  f << text;
}

// writes <out_dir>/<name>.svg and .png; returns the SVG text
std::string WritePlot(const std::string& out_dir, const std::string& name, const Figure& fig) {
  const std::string svg = ToSvg(fig);
  WriteFile(out_dir + "/" + name + ".svg", svg);
  WriteFile(out_dir + "/" + name + ".png", ToPng(fig));
  return svg;
}

struct Table {
  std::vector<std::string> head;
  std::string align;  // 'l' or 'r' per column
  std::vector<std::vector<std::string>> rows;
};

struct RunItem {
  std::string name, dir, note;
};

// One document written as Markdown and as HTML by the same calls, so both have the same text,
// tables and run lists.
class Doc {
 public:
  void Heading(const std::string& text, int level) {
    md_ << std::string(level, '#') << " " << text << "\n\n";
    html_ << "<h" << level << ">" << EscapeXml(text) << "</h" << level << ">\n";
  }
  void Para(const std::string& text) {
    md_ << text << "\n\n";
    html_ << "<p>" << EscapeXml(text) << "</p>\n";
  }
  void Add(const Table& t) {
    MdRow(t.head);
    md_ << "|";
    for (char a : t.align) md_ << (a == 'r' ? "---:|" : "---|");
    md_ << "\n";
    html_ << "<table>\n";
    HtmlRow("th", t.head, t.align);
    for (const auto& row : t.rows) MdRow(row), HtmlRow("td", row, t.align);
    md_ << "\n";
    html_ << "</table>\n";
  }
  // the PNG (Markdown; linked to the SVG) or the SVG inline (HTML; linked to the PNG)
  void Plot(const std::string& name, const std::string& alt, const std::string& svg) {
    md_ << "![" << alt << "](" << name << ".png) ([SVG](" << name << ".svg))\n\n";
    html_ << svg << "<p><a href='" << name << ".png'>" << name << ".png</a></p>\n";
  }
  void Add(const std::vector<RunItem>& items) {
    html_ << "<ul>\n";
    for (const auto& i : items) {
      md_ << "- " << i.name << ": `" << i.dir << "`" << i.note << "\n";
      html_ << "<li>" << EscapeXml(i.name) << ": <code>" << EscapeXml(i.dir) << "</code>"
            << EscapeXml(i.note) << "</li>\n";
    }
    md_ << "\n";
    html_ << "</ul>\n";
  }
  std::string Markdown() const { return md_.str(); }
  std::string Html() const {
    return "<!doctype html><html><head><meta charset='utf-8'><title>mbrl compare</title><style>"
           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}</style>"
           "</head><body style='font-family:sans-serif'>\n" +
           html_.str() + "</body></html>\n";
  }

 private:
  void MdRow(const std::vector<std::string>& cells) {
    md_ << "|";
    for (std::string c : cells) {
      for (size_t at = 0; (at = c.find('|', at)) != std::string::npos; at += 2) c.insert(at, "\\");
      md_ << " " << c << " |";
    }
    md_ << "\n";
  }
  void HtmlRow(const char* tag, const std::vector<std::string>& cells, const std::string& align) {
    html_ << "<tr>";
    for (size_t i = 0; i < cells.size(); ++i)
      html_ << "<" << tag << (align[i] == 'r' ? " style='text-align:right'" : "") << ">"
            << EscapeXml(cells[i]) << "</" << tag << ">";
    html_ << "</tr>\n";
  }
  std::ostringstream md_, html_;
};

// the table of one task: a row per group
Table TaskTable(const std::vector<const Group*>& gs, const std::vector<GroupStats>& stats,
                const std::vector<int64_t>& budgets) {
  Table t{{"agent", "config", "seeds", "final step", "final from", "final mean [95 % CI]",
           "final IQM [95 % CI]"},
          "llrrlrr",
          {}};
  for (auto b : budgets) t.head.push_back("mean at " + std::to_string(b));
  t.head.insert(t.head.end(), {"wall-clock (s)", "env steps/s"});
  t.align += std::string(budgets.size() + 2, 'r');
  for (size_t i = 0; i < gs.size(); ++i) {
    const GroupStats& s = stats[i];
    std::vector<std::string> row = {gs[i]->agent,
                                    gs[i]->label,
                                    std::to_string(gs[i]->runs.size()),
                                    StepRange(s),
                                    s.sources.empty() ? "—" : s.sources,
                                    WithCi(s.mean, s.mean_ci),
                                    WithCi(s.iqm, s.iqm_ci)};
    for (auto b : budgets) row.push_back(Fmt(Mean(ScoresAt(*gs[i], b))));
    row.insert(row.end(), {Fmt(s.wall, 0), Fmt(s.rate, 1)});
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::vector<RunItem> RunItems(const std::vector<const Group*>& gs) {
  std::vector<RunItem> items;
  for (const Group* g : gs)
    for (const auto& r : g->runs) {
      std::string note;
      if (r.has_final)
        note = " — final eval " + Fmt(r.final_score) + " at " + std::to_string(r.final_step) +
               " env steps" + (r.final_reason == "interrupted" ? " (interrupted)" : "");
      items.push_back({Name(*g), r.dir, note});
    }
  return items;
}

std::string CsvNum(double v) {
  if (std::isnan(v)) return "";
  std::ostringstream o;
  o << v;
  return o.str();
}

std::string CsvRow(const std::string& task, const Group& g, const GroupStats& s) {
  std::string label = g.label;
  std::replace(label.begin(), label.end(), '"', '\'');
  std::ostringstream o;
  o << task << "," << g.agent << ",\"" << label << "\"," << g.runs.size() << ","
    << (s.scores.empty() ? "" : std::to_string(s.step_lo));
  for (double v :
       {s.mean, s.mean_ci.lo, s.mean_ci.hi, s.iqm, s.iqm_ci.lo, s.iqm_ci.hi, s.wall, s.rate})
    o << "," << CsvNum(v);
  o << ",\"" << s.sources << "\"\n";
  return o.str();
}

// the longest step all runs of some group reached
int64_t Horizon(const std::vector<const Group*>& gs) {
  int64_t horizon = 0;
  for (const Group* g : gs) {
    int64_t common = INT64_MAX;
    for (const auto& r : g->runs) common = std::min(common, r.steps.empty() ? 0 : r.steps.back());
    horizon = std::max(horizon, common);
  }
  return horizon;
}

// <dir>/final_eval.json, if the trainer wrote one
void LoadFinalEval(const std::string& dir, RunData* r) {
  const std::string path = dir + "/final_eval.json";
  if (!fs::exists(path)) return;
  std::ifstream f(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    throw Error(path + ": " + e.what());
  }
  auto number = [&](const char* key) {
    MBRL_CHECK(j.is_object() && j.contains(key) && j[key].is_number(), path, ": '", key,
               "' must be a number");
    return j[key].get<double>();
  };
  r->final_score = number("mean");
  r->final_step = static_cast<int64_t>(number("env_step"));
  if (j.contains("reason")) {
    MBRL_CHECK(j["reason"].is_string(), path, ": 'reason' must be a string");
    r->final_reason = j["reason"].get<std::string>();
  }
  r->has_final = true;
  r->last_step = std::max(r->last_step, r->final_step);
}

}  // namespace

double Mean(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return x.empty() ? kNaN : s / x.size();
}

double Iqm(std::vector<double> x) {
  if (x.empty()) return kNaN;
  std::sort(x.begin(), x.end());
  const size_t cut = x.size() / 4;
  return Mean(std::vector<double>(x.begin() + cut, x.end() - cut));
}

Interval StratifiedBootstrapCi(const std::vector<std::vector<double>>& strata,
                               const std::function<double(const std::vector<double>&)>& aggregate,
                               double confidence, int reps, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> stats, sample;
  for (int r = 0; r < reps; ++r) {
    sample.clear();
    for (const auto& s : strata) {
      std::uniform_int_distribution<size_t> pick(0, s.size() - 1);
      for (size_t i = 0; i < s.size(); ++i) sample.push_back(s[pick(rng)]);
    }
    stats.push_back(aggregate(sample));
  }
  std::sort(stats.begin(), stats.end());
  const double a = (1 - confidence) / 2;
  auto q = [&](double p) {  // linear interpolation between order statistics
    const double pos = p * (stats.size() - 1);
    const size_t i = static_cast<size_t>(pos);
    return i + 1 < stats.size() ? stats[i] + (pos - i) * (stats[i + 1] - stats[i]) : stats[i];
  };
  return {q(a), q(1 - a)};
}

RunData LoadRun(const std::string& dir) {
  RunData r;
  r.dir = dir;
  std::ifstream f(dir + "/config.json");
  MBRL_CHECK(f.good(), dir, ": not a run directory (no config.json)");
  nlohmann::json cfg;
  try {
    cfg = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    throw Error(dir + "/config.json: " + e.what());
  }
  Flatten(cfg, "", &r.config);
  r.agent = cfg.value("agent", "?");
  r.task = cfg.contains("env") ? cfg["env"].value("name", "?") : "?";
  const auto rows = ReadMetricsJsonl(dir + "/metrics.jsonl");
  for (const auto& row : rows) r.eval = r.eval || row.Find("eval_return");
  for (const auto& row : rows) {
    const double* step = row.Find("env_step");
    const double* v = row.Find(r.eval ? "eval_return" : "return");
    if (const double* w = row.Find("wall_time")) r.wall_time = *w;
    if (step) r.last_step = std::max(r.last_step, static_cast<int64_t>(*step));
    if (!step || !v || std::isnan(*v)) continue;
    r.steps.push_back(static_cast<int64_t>(*step));
    r.score.push_back(*v);
  }
  LoadFinalEval(dir, &r);
  return r;
}

std::vector<Group> GroupRuns(std::vector<RunData> runs) {
  std::map<std::pair<std::string, std::string>, std::vector<RunData>> by_task;
  for (auto& r : runs) by_task[{r.agent, r.task}].push_back(std::move(r));
  std::vector<Group> groups;
  for (auto& [key, rs] : by_task) {
    std::set<std::string> differing;  // config keys whose values differ between these runs
    for (const auto& r : rs)
      for (const auto& [k, v] : r.config)
        if (!kRunLocal.count(k) && k.rfind("threads.", 0) != 0)
          for (const auto& o : rs) {
            auto it = o.config.find(k);
            if (it == o.config.end() || it->second != v) differing.insert(k);
          }
    std::map<std::string, std::vector<RunData>> by_label;
    for (auto& r : rs) {
      std::string label;
      for (const auto& k : differing) {
        auto it = r.config.find(k);
        label += (label.empty() ? "" : ", ") + k + "=" + (it == r.config.end() ? "-" : it->second);
      }
      by_label[label].push_back(std::move(r));
    }
    for (auto& [label, members] : by_label)
      groups.push_back({key.first, key.second, label, std::move(members)});
  }
  return groups;
}

double ScoreAt(const RunData& run, int64_t step) {
  const size_t end = std::upper_bound(run.steps.begin(), run.steps.end(), step) - run.steps.begin();
  if (end == 0 || step > run.last_step) return kNaN;
  const size_t k = run.eval ? 1 : 5, begin = end > k ? end - k : 0;
  return Mean(std::vector<double>(run.score.begin() + begin, run.score.begin() + end));
}

FinalScore FinalOf(const RunData& run, int64_t step) {
  if (run.has_final) return {run.final_score, run.final_step, "final eval"};
  const size_t end = std::upper_bound(run.steps.begin(), run.steps.end(), step) - run.steps.begin();
  const int64_t at = end == 0 ? step : run.steps[end - 1];
  return {ScoreAt(run, step), at, run.eval ? "last eval" : "training returns"};
}

void WriteCompareReport(const std::vector<Group>& groups, const std::string& out_dir,
                        std::vector<int64_t> budgets) {
  MBRL_CHECK(!groups.empty(), "compare: no runs");
  fs::create_directories(out_dir);
  std::map<std::string, std::vector<const Group*>> by_task;
  for (const auto& g : groups) by_task[g.task].push_back(&g);
  Doc doc;
  doc.Heading("Comparison", 1);
  doc.Para(
      "Scores: the evaluation return when runs evaluate, else the mean of the last 5 training "
      "returns. Final: a run's final evaluation (final_eval.json, written when the run ends) if it "
      "has one, else its score at the last env step that all runs of its group without one "
      "reached; \"final from\" says which (final eval, last eval or training returns). CIs: 95 % "
      "percentile bootstrap over seeds (2000 resamples), only for groups of at least 3 seeds: "
      "n<3 means no CI and no band. Files: report.md, report.html, summary.csv, PNG and SVG "
      "plots.");
  std::ostringstream csv;
  csv << "task,agent,config,seeds,final_step,final_mean,final_mean_lo,final_mean_hi,final_iqm,"
         "final_iqm_lo,final_iqm_hi,wall_time_s,steps_per_s,final_from\n";
  for (const auto& [task, gs] : by_task) {
    const int64_t horizon = Horizon(gs);
    std::vector<int64_t> grid;
    for (int i = 1; i <= 40; ++i) grid.push_back(horizon * i / 40);
    doc.Heading(task, 2);
    const std::string curves = "curves_" + task, bars = "final_" + task;
    doc.Plot(curves, "learning curves", WritePlot(out_dir, curves, CurveFigure(task, gs, grid)));
    std::vector<GroupStats> stats;
    std::vector<Bar> bar;
    for (const Group* g : gs) {
      stats.push_back(StatsOf(*g));
      bar.push_back(BarOf(*g, stats.back()));
      csv << CsvRow(task, *g, stats.back());
    }
    doc.Add(TaskTable(
        gs, stats,
        budgets.empty() ? std::vector<int64_t>{horizon / 4, horizon / 2, horizon} : budgets));
    doc.Plot(bars, "final scores", WritePlot(out_dir, bars, BarsFigure(task, bar)));
    doc.Para("Runs:");
    doc.Add(RunItems(gs));
  }
  WriteFile(out_dir + "/report.md", doc.Markdown());
  WriteFile(out_dir + "/report.html", doc.Html());
  WriteFile(out_dir + "/summary.csv", csv.str());
}

}  // namespace mbrl
