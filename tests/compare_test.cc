// mbrl compare: statistics with known answers, grouping, and the report on synthetic runs.
#include "mbrl/analysis/compare.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "mbrl/core/check.h"
#include "tests/test_util.h"

namespace mbrl {
namespace {
namespace fs = std::filesystem;

TEST(Compare, MeanAndIqmOfKnownSets) {
  EXPECT_DOUBLE_EQ(Iqm({100, 1, 3, 2, 4}), 3);           // drops 1 and 100
  EXPECT_DOUBLE_EQ(Iqm({8, 7, 6, 5, 4, 3, 2, 1}), 4.5);  // drops 1, 2, 7, 8
  EXPECT_DOUBLE_EQ(Iqm({1, 2, 3}), 2);                   // n < 4: plain mean
  EXPECT_DOUBLE_EQ(Mean({1, 2, 3, 4, 100}), 22);
}

TEST(Compare, BootstrapCiCoversTheTruthAndIsStratified) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> score(50, 10);
  std::vector<double> x(30);
  for (auto& v : x) v = score(rng);
  const Interval m = StratifiedBootstrapCi({x}, Mean);
  EXPECT_LT(m.lo, 50);
  EXPECT_GT(m.hi, 50);
  EXPECT_LT(m.lo, Mean(x));
  EXPECT_GT(m.hi, Mean(x));
  EXPECT_NEAR(m.hi - m.lo, 2 * 1.96 * 10 / std::sqrt(30.0), 2.5);  // about the normal width
  const Interval i = StratifiedBootstrapCi({x}, Iqm);
  EXPECT_LT(i.lo, 50);
  EXPECT_GT(i.hi, 50);
  const Interval again = StratifiedBootstrapCi({x}, Mean);
  EXPECT_EQ(m.lo, again.lo);  // seeded
  // resampling within strata keeps each task's count: the pooled mean never moves
  const Interval s = StratifiedBootstrapCi({{0, 0, 0}, {10, 10, 10}}, Mean);
  EXPECT_DOUBLE_EQ(s.lo, 5);
  EXPECT_DOUBLE_EQ(s.hi, 5);
}

// A run directory with training returns `r(step)` every `every` steps up to `steps`, and
// `eval(step)` as eval_return in the rows where it is not NaN.
void WriteRun(
    const std::string& dir, const std::string& agent, int seed, double lr, int steps,
    const std::function<double(int)>& r, const std::string& task = "cartpole_swingup",
    int every = 100, const std::function<double(int)>& eval = [](int) { return NAN; }) {
  fs::create_directories(dir);
  nlohmann::json cfg = {
      {"agent", agent}, {"seed", seed}, {"env", {{"name", task}}}, {"model", {{"lr", lr}}}};
  std::ofstream(dir + "/config.json") << cfg.dump();
  std::ofstream m(dir + "/metrics.jsonl");
  for (int s = every, e = 1; s <= steps; s += every, ++e) {
    nlohmann::json row = {
        {"env_step", s}, {"episode", e}, {"return", r(s)}, {"wall_time", s / 50.0}};
    if (!std::isnan(eval(s))) row["eval_return"] = eval(s);
    m << row.dump() << "\n";
  }
}

void WriteFinalEval(const std::string& dir, int64_t step, double mean) {
  std::ofstream(dir + "/final_eval.json") << nlohmann::json{
      {"env_step", step}, {"episode", 57},  {"episodes", 2}, {"returns", {mean - 1, mean + 1}},
      {"mean", mean},     {"reason", "end"}}.dump();
}

std::string ReadText(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// The report of run directories through the library (no binary): LoadRun, GroupRuns, write.
void Report(const std::vector<std::string>& dirs, const std::string& out,
            const std::vector<int64_t>& budgets = {}) {
  std::vector<RunData> runs;
  for (const auto& d : dirs) runs.push_back(LoadRun(d));
  WriteCompareReport(GroupRuns(std::move(runs)), out, budgets);
}

// summary.csv rows keyed by "agent|config"
std::map<std::string, std::vector<std::string>> CsvRows(const std::string& path) {
  std::ifstream csv(path);
  std::string line;
  std::getline(csv, line);  // header
  std::map<std::string, std::vector<std::string>> rows;
  while (std::getline(csv, line)) {
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false;
    for (char c : line) {
      if (c == '"')
        quoted = !quoted;
      else if (c == ',' && !quoted)
        cells.push_back(cell), cell.clear();
      else
        cell += c;
    }
    cells.push_back(cell);
    rows[cells[1] + "|" + cells[2]] = cells;
  }
  return rows;
}

// the report.md table rows (header included, separator lines left out) as their cells
std::vector<std::vector<std::string>> MdRows(const std::string& md) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(md);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("|", 0) != 0 || line.rfind("|---", 0) == 0) continue;
    std::vector<std::string> cells;
    for (size_t at = 1, bar; (bar = line.find(" |", at)) != std::string::npos; at = bar + 2)
      cells.push_back(line.substr(at + 1, bar - at - 1));
    rows.push_back(cells);
  }
  return rows;
}

// the report.html <tr> rows, cell texts unescaped
std::vector<std::vector<std::string>> HtmlRows(const std::string& html) {
  std::vector<std::vector<std::string>> rows;
  for (size_t at = 0; (at = html.find("<tr>", at)) != std::string::npos;) {
    const size_t end = html.find("</tr>", at);
    std::vector<std::string> cells;
    for (size_t c = html.find("<t", at + 4); c < end; c = html.find("<t", c + 1)) {
      const size_t open = html.find('>', c) + 1, close = html.find("</t", open);
      std::string text = html.substr(open, close - open);
      for (auto [from, to] :
           {std::pair<std::string, std::string>{"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}})
        for (size_t i; (i = text.find(from)) != std::string::npos;)
          text.replace(i, from.size(), to);
      cells.push_back(text);
      c = close;
    }
    rows.push_back(cells);
    at = end;
  }
  return rows;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
  return n;
}

TEST(Compare, ReportOnSyntheticRuns) {
  const std::string root = testing::TempDir() + "/mbrl_compare";
  fs::remove_all(root);
  // pets: final score = 10 * seed (seeds 0..4) -> mean 20, IQM of {0,10,20,30,40} = 20
  // sac: constant 7; sac with another lr: its own group
  for (int s = 0; s < 5; ++s) {
    WriteRun(root + "/pets_s" + std::to_string(s), "pets", s, 1e-3, 2000,
             [s](int) { return 10.0 * s; });
    WriteRun(root + "/sac_s" + std::to_string(s), "sac", s, 1e-3, 1500, [](int) { return 7.0; });
  }
  WriteRun(root + "/sac_lr_s0", "sac", 0, 3e-4, 1500, [](int) { return 1.0; });
  const std::string out = root + "/report";
  auto r = Shell(std::string(MBRL_BINARY) + " compare '" + root + "/*_s*' --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("11 runs"), std::string::npos) << r.out;
  for (const char* f : {"report.md", "report.html", "summary.csv", "curves_cartpole_swingup.svg",
                        "final_cartpole_swingup.svg"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  const auto rows = CsvRows(out + "/summary.csv");
  ASSERT_EQ(rows.size(), 3u);
  const auto& pets = rows.at("pets|");
  EXPECT_EQ(pets[3], "5");                   // seeds
  EXPECT_EQ(pets[4], "2000");                // final step
  EXPECT_DOUBLE_EQ(std::stod(pets[5]), 20);  // mean
  EXPECT_DOUBLE_EQ(std::stod(pets[8]), 20);  // IQM
  EXPECT_LE(std::stod(pets[6]), 20);
  EXPECT_GE(std::stod(pets[7]), 20);
  EXPECT_NEAR(std::stod(pets[12]), 50, 1e-9);  // env steps per second
  EXPECT_DOUBLE_EQ(std::stod(rows.at("sac|model.lr=0.001")[8]), 7);
  EXPECT_DOUBLE_EQ(std::stod(rows.at("sac|model.lr=0.0003")[8]), 1);
  EXPECT_EQ(rows.at("sac|model.lr=0.0003")[3], "1");
  EXPECT_EQ(rows.at("sac|model.lr=0.0003")[6], "");  // one seed: no CI
  EXPECT_EQ(pets[13], "training returns");           // final from
  // a budget past a group's runs has no score
  r = Shell(std::string(MBRL_BINARY) + " compare " + root + "/sac_s0 --budgets 1000,1600 --out " +
            root + "/report2");
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream md(root + "/report2/report.md");
  const std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("| 7.0 [n<3] | 7.0 [n<3] | 7.0 | — |"), std::string::npos) << text;
  // a bad directory is a one-line error
  r = Shell(std::string(MBRL_BINARY) + " compare " + root + "/nothing_here");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("nothing_here"), std::string::npos) << r.err;
}

TEST(Compare, LoadRunReadsFinalEvalAndNamesTheBadKey) {
  const std::string dir = testing::TempDir() + "/mbrl_final_eval";
  fs::remove_all(dir);
  WriteRun(dir, "sac", 0, 1e-3, 1000, [](int) { return 5.0; });
  EXPECT_FALSE(LoadRun(dir).has_final);
  std::ofstream(dir + "/final_eval.json")
      << R"({"env_step": 1200, "episode": 13, "episodes": 10, "returns": [998.1],)"
         R"( "mean": 998.1, "reason": "interrupted"})";
  const RunData r = LoadRun(dir);
  EXPECT_TRUE(r.has_final);
  EXPECT_DOUBLE_EQ(r.final_score, 998.1);
  EXPECT_EQ(r.final_step, 1200);
  EXPECT_EQ(r.final_reason, "interrupted");
  EXPECT_EQ(r.last_step, 1200);
  for (const auto& [text, key] : std::vector<std::pair<std::string, std::string>>{
           {R"({"env_step": 1200})", "'mean'"},
           {R"({"env_step": "end", "mean": 1})", "'env_step'"},
           {R"({"env_step": 1200, "mean": null})", "'mean'"},
           {R"({"env_step": 1200, "mean": 1, "reason": 3})", "'reason'"},
           {R"({"env_step": 12)", "parse"}}) {
    std::ofstream(dir + "/final_eval.json") << text;
    try {
      LoadRun(dir);
      ADD_FAILURE() << text << " loaded";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(dir + "/final_eval.json"), std::string::npos) << what;
      EXPECT_NE(what.find(key), std::string::npos) << what;
    }
  }
}

// SAC evaluated once early (160) and finally (1000 +- 10): the final evaluation is its score.
TEST(Compare, FinalEvalIsPreferredOverEvalRows) {
  const std::string root = testing::TempDir() + "/mbrl_compare_final";
  fs::remove_all(root);
  std::vector<std::string> dirs;
  auto early_eval = [](int s) { return s == 1000 ? 160.0 : NAN; };
  for (int s = 0; s < 3; ++s) {
    dirs.push_back(root + "/sac_s" + std::to_string(s));
    WriteRun(
        dirs.back(), "sac", s, 1e-3, 40000, [](int) { return 300.0; }, "hopper", 1000, early_eval);
    WriteFinalEval(dirs.back(), 40000, 990.0 + 10 * s);
    dirs.push_back(root + "/old_s" + std::to_string(s));  // no final_eval.json
    WriteRun(
        dirs.back(), "sac", s, 3e-4, 40000, [](int) { return 300.0; }, "hopper", 1000, early_eval);
  }
  const RunData sac = LoadRun(dirs[0]), old = LoadRun(dirs[1]);
  const FinalScore f = FinalOf(sac, 40000), o = FinalOf(old, 40000);
  EXPECT_DOUBLE_EQ(f.score, 990);
  EXPECT_EQ(f.step, 40000);
  EXPECT_EQ(f.source, "final eval");
  EXPECT_DOUBLE_EQ(o.score, 160);
  EXPECT_EQ(o.step, 1000);
  EXPECT_EQ(o.source, "last eval");
  Report(dirs, root + "/report");
  const auto rows = CsvRows(root + "/report/summary.csv");
  const auto& fresh = rows.at("sac|model.lr=0.001");
  EXPECT_EQ(fresh[4], "40000");
  EXPECT_DOUBLE_EQ(std::stod(fresh[5]), 1000);
  EXPECT_EQ(fresh[13], "final eval");
  EXPECT_DOUBLE_EQ(std::stod(rows.at("sac|model.lr=0.0003")[5]), 160);
  EXPECT_EQ(rows.at("sac|model.lr=0.0003")[13], "last eval");
  const std::string md = ReadText(root + "/report/report.md");
  EXPECT_NE(md.find("| sac | model.lr=0.001 | 3 | 40000 | final eval | 1000.0 ["),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| sac | model.lr=0.0003 | 3 | 1000 | last eval | 160.0 [160.0, 160.0] |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("`" + dirs[0] + "` — final eval 990.0 at 40000 env steps\n"), std::string::npos)
      << md;
  EXPECT_NE(ReadText(root + "/report/final_hopper.svg")
                .find("sac [model.lr=0.001] (n=3): final eval at 40000 env steps"),
            std::string::npos);
}

// Two groups of cartpole_swingup, one of 3 seeds and one of 2, and a 1-seed group on hopper.
std::string SmallGroupsReport() {
  const std::string root = testing::TempDir() + "/mbrl_compare_small";
  fs::remove_all(root);
  std::vector<std::string> dirs;
  for (int s = 0; s < 3; ++s) {
    dirs.push_back(root + "/three_s" + std::to_string(s));
    WriteRun(
        dirs.back(), "sac", s, 1e-3, 40000, [s](int t) { return t / 40.0 + 10 * s; },
        "cartpole_swingup", 1000);
  }
  for (int s = 0; s < 2; ++s) {
    dirs.push_back(root + "/two_s" + std::to_string(s));
    WriteRun(
        dirs.back(), "sac", s, 3e-4, 40000, [s](int t) { return t / 80.0 + 10 * s; },
        "cartpole_swingup", 1000);
  }
  dirs.push_back(root + "/hop_s0");
  WriteRun(
      dirs.back(), "pets", 0, 1e-3, 5000, [](int) { return -130.0; }, "hopper");
  Report(dirs, root + "/report", {20000});
  return root + "/report";
}

TEST(Compare, GroupsUnderThreeSeedsHaveNoCi) {
  const std::string out = SmallGroupsReport();
  const std::string md = ReadText(out + "/report.md"), html = ReadText(out + "/report.html");
  // final = mean of the last 5 training returns: 2 seeds {475, 485}: n<3 instead of the CIs;
  // 3 seeds {950, 960, 970}: bootstrap CIs (each end is hit by 1 resample in 27)
  EXPECT_NE(md.find("| sac | model.lr=0.0003 | 2 | 40000 | training returns | 480.0 [n<3] | "
                    "480.0 [n<3] | 230.0 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| sac | model.lr=0.001 | 3 | 40000 | training returns | 960.0 [950.0, "
                    "970.0] | 960.0 [950.0, 970.0] | 460.0 |"),
            std::string::npos)
      << md;
  EXPECT_NE(html.find("<td style='text-align:right'>480.0 [n&lt;3]</td>"), std::string::npos);
  const auto rows = CsvRows(out + "/summary.csv");
  EXPECT_EQ(rows.at("sac|model.lr=0.0003")[6], "");
  EXPECT_EQ(rows.at("sac|model.lr=0.0003")[7], "");
  EXPECT_DOUBLE_EQ(std::stod(rows.at("sac|model.lr=0.001")[6]), 950);
  // curves: the legend says so, and only the 3-seed group (2nd colour) has a band
  const std::string curves = ReadText(out + "/curves_cartpole_swingup.svg");
  EXPECT_NE(curves.find(">sac [model.lr=0.0003] (n=2, no CI)</text>"), std::string::npos);
  EXPECT_NE(curves.find(">sac [model.lr=0.001] (n=3)</text>"), std::string::npos);
  EXPECT_EQ(Count(curves, "fill-opacity='0.2'"), 1u) << curves;
  EXPECT_EQ(Count(curves, "<polygon points='"), 1u) << curves;
  EXPECT_NE(curves.find("fill='#d62728' fill-opacity='0.2'"), std::string::npos);
  // final scores: bars for both, a whisker (black, 2 px) for the 3-seed group only
  const std::string bars = ReadText(out + "/final_cartpole_swingup.svg");
  EXPECT_EQ(Count(bars, "fill-opacity='0.7'"), 2u) << bars;
  EXPECT_EQ(Count(bars, "stroke='#000' stroke-width='2'"), 1u) << bars;
  EXPECT_NE(bars.find(">sac [model.lr=0.0003] (n=2, no CI): training returns at 40000 env "
                      "steps</text>"),
            std::string::npos)
      << bars;
}

TEST(Compare, PlotsHaveLabelledAxesWithRoundTicks) {
  const std::string out = SmallGroupsReport();
  const std::string curves = ReadText(out + "/curves_cartpole_swingup.svg");
  EXPECT_NE(curves.find(">env steps</text>"), std::string::npos);
  EXPECT_NE(curves.find("transform='rotate(-90"), std::string::npos);
  EXPECT_NE(curves.find(")'>return</text>"), std::string::npos);
  // x: 0..40k by 10k; y: 17.5 (the 2-seed mean at 1000) .. 970 (the top of the band) -> 0..1000
  for (const char* tick : {">0</text>", ">10k</text>", ">20k</text>", ">30k</text>", ">40k</text>",
                           ">200</text>", ">800</text>", ">1000</text>"})
    EXPECT_NE(curves.find(tick), std::string::npos) << tick;
  EXPECT_EQ(curves.find(">50k</text>"), std::string::npos);
  EXPECT_EQ(curves.find(">1200</text>"), std::string::npos);
  // a negative score, -130: the bar axis runs from -150 to 0 by 25
  const std::string bars = ReadText(out + "/final_hopper.svg");
  EXPECT_NE(bars.find(">final return</text>"), std::string::npos);
  for (const char* tick : {">-150</text>", ">-125</text>", ">-25</text>", ">0</text>"})
    EXPECT_NE(bars.find(tick), std::string::npos) << tick << bars;
}

TEST(Compare, HtmlHasEveryMarkdownTableRow) {
  const std::string out = SmallGroupsReport();
  const auto md = MdRows(ReadText(out + "/report.md"));
  const auto html = HtmlRows(ReadText(out + "/report.html"));
  ASSERT_EQ(md.size(), 5u);  // two tables: header + 2 rows, header + 1 row
  EXPECT_EQ(md[0].size(), 10u);
  EXPECT_EQ(md[0][7], "mean at 20000");
  EXPECT_EQ(md[4][0], "pets");
  EXPECT_EQ(html, md);
}

}  // namespace
}  // namespace mbrl

namespace mbrl {
namespace {

TEST(Sweep, LocalGridRunsEveryJobAndCompareReadsIt) {
  const std::string root = testing::TempDir() + "/mbrl_sweep";
  fs::remove_all(root);
  const std::string bin = MBRL_BINARY, cfg = MBRL_SOURCE_DIR "/configs/random_cartpole.json";
  auto r = Shell(bin + " sweep " + cfg +
                 " --seeds 0-1 --set env.name=cartpole_swingup,inverted_pendulum"
                 " --set total_env_steps=400 --parallel 2 --out " +
                 root + "/s");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("4/4 jobs completed"), std::string::npos) << r.out;
  int runs = 0;
  for (const auto& e : fs::directory_iterator(root + "/s/runs")) {
    ++runs;
    EXPECT_TRUE(fs::exists(e.path() / "metrics.jsonl")) << e.path();
  }
  EXPECT_EQ(runs, 4);
  r = Shell(bin + " compare " + root + "/s --out " + root + "/report");
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream csv(root + "/report/summary.csv");
  std::string line;
  int groups = -1;  // header
  while (std::getline(csv, line)) ++groups;
  EXPECT_EQ(groups, 2);  // one per task, 2 seeds each
  // Slurm: a job array script, checked but not submitted
  r = Shell(bin + " sweep " + cfg + " --seeds 0-2 --slurm --dry-run --partition debug --out " +
            root + "/slurm");
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream sb(root + "/slurm/sweep.sbatch");
  const std::string script((std::istreambuf_iterator<char>(sb)), std::istreambuf_iterator<char>());
  EXPECT_NE(script.find("#SBATCH --array=0-2"), std::string::npos) << script;
  EXPECT_NE(script.find("#SBATCH --partition=debug"), std::string::npos) << script;
  // each phase's wide pool (Dreamer: OpenBLAS for training and updates) gets the job's cores
  r = Shell(bin + " sweep " + MBRL_SOURCE_DIR "/configs/dreamer_dmc_cartpole.json" +
            " --seeds 0 --slurm --dry-run --cpus 4 --out " + root + "/dreamer");
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream jl(root + "/dreamer/jobs.txt");
  const std::string jobs((std::istreambuf_iterator<char>(jl)), std::istreambuf_iterator<char>());
  for (const char* want :
       {"threads.plan.torch=4", "threads.plan.blas=1", "threads.train.torch=1",
        "threads.train.blas=4", "threads.update.torch=1", "threads.update.blas=4"})
    EXPECT_NE(jobs.find(want), std::string::npos) << want << " not in " << jobs;
  // bad keys fail before any job starts
  r = Shell(bin + " sweep " + cfg + " --set no.such_key=1 --out " + root + "/bad");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(root + "/bad/runs"));
}

}  // namespace
}  // namespace mbrl
