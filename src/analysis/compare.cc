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

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                         "#9467bd", "#8c564b", "#e377c2", "#17becf"};

// Learning curves of the groups of one task: mean over seeds with a 95 % bootstrap band.
Figure CurveFigure(const std::string& task, const std::vector<const Group*>& groups,
                   const std::vector<int64_t>& grid) {
  const double W = 640, H = 400, L = 60, R = 20, T = 30, B = 45;
  struct Line {
    std::vector<double> mean, lo, hi;
  };
  std::vector<Line> lines;
  double ymin = INFINITY, ymax = -INFINITY;
  for (const Group* g : groups) {
    Line line;
    for (int64_t s : grid) {
      std::vector<double> v;
      for (const auto& r : g->runs)
        if (double x = ScoreAt(r, s); !std::isnan(x)) v.push_back(x);
      const Interval ci = v.empty() ? Interval{kNaN, kNaN} : StratifiedBootstrapCi({v}, Mean);
      line.mean.push_back(v.empty() ? kNaN : Mean(v));
      line.lo.push_back(ci.lo);
      line.hi.push_back(ci.hi);
      if (!v.empty()) ymin = std::min(ymin, ci.lo), ymax = std::max(ymax, ci.hi);
    }
    lines.push_back(line);
  }
  if (!(ymax > ymin)) ymin = 0, ymax = 1;
  const double xmax = static_cast<double>(std::max<int64_t>(1, grid.back()));
  auto X = [&](double s) { return L + (W - L - R) * s / xmax; };
  auto Y = [&](double y) { return H - B - (H - T - B) * (y - ymin) / (ymax - ymin); };
  Figure fig(W, H);
  fig.Text(W / 2, 18, task, 'm', "#000", 14);
  fig.Line(L, H - B, W - R, H - B, "#000");
  fig.Line(L, T, L, H - B, "#000");
  for (int i = 0; i <= 4; ++i) {
    const double y = ymin + (ymax - ymin) * i / 4, s = xmax * i / 4;
    fig.Text(L - 5, Y(y) + 4, Fmt(y, 0), 'e');
    fig.Text(X(s), H - B + 16, Fmt(s, 0), 'm');
  }
  fig.Text((L + W - R) / 2, H - 8, "env steps", 'm');
  for (size_t k = 0; k < lines.size(); ++k) {
    const char* c = kColors[k % 8];
    std::vector<Figure::Point> band, bottom, path;
    for (size_t i = 0; i < grid.size(); ++i) {
      if (std::isnan(lines[k].mean[i])) continue;
      const double x = X(static_cast<double>(grid[i]));
      band.push_back({x, Y(lines[k].hi[i])});
      bottom.insert(bottom.begin(), {x, Y(lines[k].lo[i])});
      path.push_back({x, Y(lines[k].mean[i])});
    }
    band.insert(band.end(), bottom.begin(), bottom.end());
    fig.Polygon(band, c, 0.2);
    fig.Polyline(path, c, 2);
    fig.Text(L + 10, T + 14 * (k + 1),
             Name(*groups[k]) + " (" + std::to_string(groups[k]->runs.size()) + " seeds)", 's', c);
  }
  return fig;
}

// Final scores of the groups of one task: a bar per group (mean) with its 95 % CI as a whisker.
Figure BarsFigure(const std::string& task, const std::vector<std::string>& names,
                  const std::vector<double>& mean, const std::vector<Interval>& ci) {
  const double W = 640, row = 28, L = 260, R = 60, T = 30, H = T + row * names.size() + 30;
  double lo = 0, hi = 0;
  for (size_t i = 0; i < names.size(); ++i)
    for (double v : {mean[i], ci[i].lo, ci[i].hi})
      if (!std::isnan(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!(hi > lo)) hi = lo + 1;
  auto X = [&](double v) { return L + (W - L - R) * (v - lo) / (hi - lo); };
  Figure fig(W, H);
  fig.Text(W / 2, 18, task + ": final score (mean, 95 % CI)", 'm', "#000", 14);
  for (size_t i = 0; i < names.size(); ++i) {
    const double y = T + row * i;
    fig.Text(L - 8, y + 17, names[i], 'e');
    if (std::isnan(mean[i])) continue;
    fig.Rect(std::min(X(0), X(mean[i])), y + 4, std::abs(X(mean[i]) - X(0)), row - 8,
             kColors[i % 8], 0.7);
    fig.Line(X(ci[i].lo), y + row / 2, X(ci[i].hi), y + row / 2, "#000", 2);
    fig.Text(X(std::max(mean[i], ci[i].hi)) + 4, y + 17, Fmt(mean[i]));
  }
  fig.Line(X(0), T, X(0), H - 30, "#808080");
  return fig;
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

std::string PngLink(const std::string& name) {
  return "<p><a href='" + name + ".png'>" + name + ".png</a></p>\n";
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

void WriteCompareReport(const std::vector<Group>& groups, const std::string& out_dir,
                        std::vector<int64_t> budgets) {
  MBRL_CHECK(!groups.empty(), "compare: no runs");
  fs::create_directories(out_dir);
  std::map<std::string, std::vector<const Group*>> by_task;
  for (const auto& g : groups) by_task[g.task].push_back(&g);
  std::ostringstream md, csv, svgs;
  md << "# Comparison\n\nScores: the evaluation return when runs evaluate, else the mean of the "
        "last 5 training returns. Final = each run's score at the last env step every run of its "
        "group reached. CIs: 95 % percentile bootstrap over seeds (2000 resamples).\n\n";
  csv << "task,agent,config,seeds,final_step,final_mean,final_mean_lo,final_mean_hi,final_iqm,"
         "final_iqm_lo,final_iqm_hi,wall_time_s,steps_per_s\n";
  for (const auto& [task, gs] : by_task) {
    int64_t horizon = 0;  // the longest step all runs of some group reached
    for (const Group* g : gs) {
      int64_t common = INT64_MAX;
      for (const auto& r : g->runs) common = std::min(common, r.steps.empty() ? 0 : r.steps.back());
      horizon = std::max(horizon, common);
    }
    std::vector<int64_t> grid;
    for (int i = 1; i <= 40; ++i) grid.push_back(horizon * i / 40);
    const std::string curves = "curves_" + task;
    svgs << "<h2>" << task << "</h2>\n"
         << WritePlot(out_dir, curves, CurveFigure(task, gs, grid)) << PngLink(curves);
    md << "## " << task << "\n\n![learning curves](" << curves << ".png) ([SVG](" << curves
       << ".svg))\n\n";
    std::vector<int64_t> cols = budgets;
    if (cols.empty()) cols = {horizon / 4, horizon / 2, horizon};
    md << "| agent | config | seeds | final step | final mean [95 % CI] | final IQM [95 % CI] |";
    for (auto b : cols) md << " mean at " << b << " |";
    md << " wall-clock (s) | env steps/s |\n|---|---|---:|---:|---:|---:|";
    for (size_t i = 0; i < cols.size(); ++i) md << "---:|";
    md << "---:|---:|\n";
    std::vector<std::string> bar_names;
    std::vector<double> bar_means;
    std::vector<Interval> bar_cis;
    for (const Group* g : gs) {
      int64_t final_step = INT64_MAX;
      for (const auto& r : g->runs)
        final_step = std::min(final_step, r.steps.empty() ? 0 : r.steps.back());
      std::vector<double> final_scores;
      double wall = 0, rate = 0;
      for (const auto& r : g->runs) {
        if (double x = ScoreAt(r, final_step); !std::isnan(x)) final_scores.push_back(x);
        wall += r.wall_time / g->runs.size();
        if (r.wall_time > 0 && !r.steps.empty())
          rate += r.steps.back() / r.wall_time / g->runs.size();
      }
      Interval mci{kNaN, kNaN}, ici{kNaN, kNaN};
      if (!final_scores.empty()) {
        mci = StratifiedBootstrapCi({final_scores}, Mean);
        ici = StratifiedBootstrapCi({final_scores}, Iqm);
      }
      md << "| " << g->agent << " | " << (g->label.empty() ? "" : g->label) << " | "
         << g->runs.size() << " | " << final_step << " | " << Fmt(Mean(final_scores)) << " ["
         << Fmt(mci.lo) << ", " << Fmt(mci.hi) << "] | " << Fmt(Iqm(final_scores)) << " ["
         << Fmt(ici.lo) << ", " << Fmt(ici.hi) << "] |";
      for (auto b : cols) {
        std::vector<double> v;
        for (const auto& r : g->runs)
          if (double x = ScoreAt(r, b); !std::isnan(x)) v.push_back(x);
        md << " " << Fmt(Mean(v)) << " |";
      }
      md << " " << Fmt(wall, 0) << " | " << Fmt(rate, 1) << " |\n";
      bar_names.push_back(Name(*g));
      bar_means.push_back(Mean(final_scores));
      bar_cis.push_back(mci);
      std::string label = g->label;
      std::replace(label.begin(), label.end(), '"', '\'');
      csv << task << "," << g->agent << ",\"" << label << "\"," << g->runs.size() << ","
          << final_step << "," << Mean(final_scores) << "," << mci.lo << "," << mci.hi << ","
          << Iqm(final_scores) << "," << ici.lo << "," << ici.hi << "," << wall << "," << rate
          << "\n";
    }
    const std::string bars = "final_" + task;
    svgs << WritePlot(out_dir, bars, BarsFigure(task, bar_names, bar_means, bar_cis))
         << PngLink(bars);
    md << "\n![final scores](" << bars << ".png) ([SVG](" << bars << ".svg))\n\nRuns:\n";
    for (const Group* g : gs)
      for (const auto& r : g->runs) md << "- " << Name(*g) << ": `" << r.dir << "`\n";
    md << "\n";
  }
  WriteFile(out_dir + "/report.md", md.str());
  WriteFile(out_dir + "/summary.csv", csv.str());
  WriteFile(out_dir + "/report.html",
            "<!doctype html><html><head><meta charset='utf-8'><title>mbrl compare</title></head>"
            "<body style='font-family:sans-serif'><h1>Comparison</h1><p>Tables: report.md, "
            "summary.csv</p>\n" +
                svgs.str() + "</body></html>\n");
}

}  // namespace mbrl
